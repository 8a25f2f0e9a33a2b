"""MongoDB Atlas: the project, the cluster, the application's user, and who may reach it and how."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

import pulumi
import pulumi_aws as aws
import pulumi_mongodbatlas as mongodbatlas
import pulumi_random as random

from components.admission import ANYWHERE_IPV4, admit_clients, tcp_rule
from components.outputs import publish
from components.settings import ATLAS_DEDICATED_TIERS, AtlasSettings

# MongoDB's port on Atlas' public and peered nodes (PrivateLink maps each node to its own port).
ATLAS_PORT = 27017
CLUSTER_NAME = "main"
APP_USERNAME = "app"
BACKUP_USERNAME = "backup"
# Safe in a URI once percent-encoded, and in shells and .env files without quoting surprises.
PASSWORD_SPECIALS = "!#$%&*()-_=+[]{}<>:?"
_EVERYWHERE = ("0.0.0.0/0", "::/0")
ATLAS_PRIVATE_LINK_PORTS = (1024, 65535)


@dataclass(frozen=True)
class AtlasPrivateLink:
    """Where the application reaches a dedicated cluster over AWS PrivateLink."""

    vpc_id: pulumi.Input[str]
    """VPC of the application."""
    subnet_ids: Sequence[pulumi.Input[str]]
    """Private subnets the interface endpoint gets an address in (one per AZ)."""
    region: str
    """AWS region of the VPC, e.g. ``ap-northeast-1``; must be the cluster's region."""


@dataclass(frozen=True)
class AtlasPeering:
    """Where the application reaches a dedicated cluster over VPC peering with Atlas' container."""

    vpc_id: pulumi.Input[str]
    """VPC of the application: the accepter of the peering Atlas requests."""
    vpc_cidr: str
    """CIDR block of that VPC: Atlas routes it back through the peering."""
    route_table_ids: Sequence[pulumi.Input[str]]
    """Route tables of the private subnets: each gets a route to Atlas' block via the peering."""
    region: str
    """AWS region of the VPC, e.g. ``ap-northeast-1``; must be the cluster's region."""


@dataclass(frozen=True)
class MongoAtlasArgs:
    settings: AtlasSettings
    """Organisation, tier, region, version, backups and access list of the project."""
    project_name: str
    """Atlas project name, unique in the organisation (e.g. ``platform-staging``)."""
    access_cidrs: Sequence[pulumi.Input[str]] = ()
    """Egress addresses of the application (NAT EIPs, Render's outbound ranges), as IPs or CIDRs;
    added to ``settings.access_cidrs`` in the project's IP access list."""
    private_link: AtlasPrivateLink | None = None
    """The VPC for ``settings.connectivity: private-link`` (dedicated tiers only)."""
    peering: AtlasPeering | None = None
    """The VPC for ``settings.connectivity: peering`` (dedicated tiers only)."""
    protect: bool = False
    """Refuse to delete the project and the cluster (the engine's protect), for production data."""
    backup_user: bool = False
    """Also create the read-only ``backup`` user (Atlas' built-in ``backup`` role) for ``mongodump``."""


def _as_cidr(value: str) -> str:
    """An IP or CIDR as a CIDR block, refusing the whole internet."""
    network = ipaddress.ip_network(value if "/" in value else f"{value}/{32 if ':' not in value else 128}")
    if str(network) in _EVERYWHERE or network.prefixlen == 0:
        raise ValueError(f"MongoAtlas: {value} would open the cluster to the whole internet")
    return str(network)


_CONNECTIVITY = {
    "private-link": ("PrivateLink", "AtlasPrivateLink"),
    "peering": ("VPC peering", "AtlasPeering"),
}


def _check_connectivity(args: MongoAtlasArgs) -> None:
    """The VPC given matches ``settings.connectivity``, on a tier and in a region that allow it."""
    settings = args.settings
    given: dict[str, AtlasPrivateLink | AtlasPeering | None] = {
        "private-link": args.private_link,
        "peering": args.peering,
    }
    for mode, network in given.items():
        if network is None:
            continue
        label, kind = _CONNECTIVITY[mode]
        if settings.tier not in ATLAS_DEDICATED_TIERS:
            raise ValueError(f"MongoAtlas: {label} needs a dedicated tier, not {settings.tier}")
        if settings.connectivity != mode:
            raise ValueError(
                f"MongoAtlas: an {kind} was given but settings.connectivity is {settings.connectivity!r}"
            )
        if settings.region.lower().replace("_", "-") != network.region:
            reason = (
                "PrivateLink endpoints are regional"
                if mode == "private-link"
                # The access list names the tasks' security group, which Atlas accepts only
                # from a peered VPC in the cluster's own region.
                else "peering with a security group in the access list needs one region"
            )
            raise ValueError(
                f"MongoAtlas: the cluster is in {settings.region} but the VPC in {network.region}; {reason}"
            )
    if settings.connectivity in given and given[settings.connectivity] is None:
        label, kind = _CONNECTIVITY[settings.connectivity]
        raise ValueError(f"MongoAtlas: settings ask for {label} but no {kind} (VPC) was given")


def _shared_region(tier: str, region: str) -> dict[str, object]:
    """The one region config of a shared cluster: M0 on ``TENANT``, Flex on ``FLEX``, both on AWS.

    The provider's examples (docs/resources/advanced_cluster.md, "Example Tenant Cluster" and
    "Example Flex Cluster"): a Flex cluster takes no ``electable_specs`` and priority 7.
    """
    config: dict[str, object] = {"backing_provider_name": "AWS", "region_name": region, "priority": 7}
    if tier == "M0":
        return {**config, "provider_name": "TENANT", "electable_specs": {"instance_size": "M0"}}
    return {**config, "provider_name": "FLEX"}


def _srv_uri(
    srv: pulumi.Output[str], username: pulumi.Output[str], password: pulumi.Output[str], path: str
) -> pulumi.Output[str]:
    """``mongodb+srv://user:password@host/<path>`` as a Pulumi secret, both parts percent-encoded."""
    return pulumi.Output.secret(
        pulumi.Output.all(srv, username, password).apply(
            lambda values: (
                f"mongodb+srv://{quote(values[1], safe='')}:{quote(values[2], safe='')}"
                f"@{_srv_host(values[0])}/{path}"
            )
        )
    )


def _srv_host(srv: str | None) -> str:
    if not srv:
        raise ValueError("MongoAtlas: Atlas returned no mongodb+srv connection string for the cluster")
    return srv.removeprefix("mongodb+srv://").rstrip("/")


class MongoAtlas(pulumi.ComponentResource):
    """An Atlas project with one cluster and a least-privilege application user.

    The tier decides what the cluster is and how it can be reached:

    - ``M0``: the free shared tier (the ``TENANT`` provider backed by AWS). It allows no private
      endpoint and no VPC peering: the IP access list is its only network control, so the
      application's egress IPs are listed there. No cloud backups.
    - ``FLEX``: shared, usage-priced, daily snapshots (the ``FLEX`` provider backed by AWS); IP
      access list only.
    - ``M10`` and up: a dedicated three-node replica set, with cloud backups and point-in-time
      restore as configured, reached as ``settings.connectivity`` says: over the internet (IP
      access list), AWS PrivateLink (an interface endpoint in the VPC) or VPC peering (Atlas'
      network container peered with the VPC, a route to its block in every private route table,
      and each client service's security group in the access list, see :meth:`admit`).

    Every tier is one ``AdvancedCluster``: the provider upgrades M0 -> FLEX -> M10 in place
    (docs/resources/advanced_cluster.md, "Example Tenant Cluster Upgrade to Flex" and "Example
    Flex Cluster Upgrade"), where a separate ``FlexCluster`` resource would make a tier change a
    replacement, refused by Atlas since the new cluster has the old one's name.

    ``0.0.0.0/0`` is never in the access list. TLS is always on (``mongodb+srv`` implies it).
    """

    project_id: pulumi.Output[str]
    """The Atlas project id."""
    cluster_name: pulumi.Output[str]
    """Name of the cluster."""
    username: pulumi.Output[str]
    """The application user (``readWrite`` on ``settings.database_name`` only)."""
    connection_uri: pulumi.Output[str]
    """``mongodb+srv://user:pass@host/db?retryWrites=true&w=majority`` (secret): the
    private-endpoint host over PrivateLink; the standard SRV host otherwise, which inside a peered
    VPC (DNS hostnames and resolution on) resolves to the nodes' private addresses."""
    backup_connection_uri: pulumi.Output[str] | None
    """With ``backup_user``, the same host as the ``backup`` user, no database in the path
    (secret); None otherwise."""

    def __init__(self, name: str, args: MongoAtlasArgs, opts: pulumi.ResourceOptions | None = None):
        settings = args.settings
        _check_connectivity(args)
        for cidr in (*settings.access_cidrs, *args.access_cidrs):
            if isinstance(cidr, str):
                _as_cidr(cidr)  # refuses the whole internet before anything is registered
        super().__init__("platform:atlas:MongoAtlas", name, None, opts)
        self._name, self._project = name, None
        self._endpoint_group: aws.ec2.SecurityGroup | None = None
        self._peering: tuple[aws.ec2.VpcPeeringConnectionAccepter, str, str] | None = None
        # The Name tag of the AWS side of a private path, unique per stack like the project name.
        self._aws_label = f"{args.project_name}-{name}-atlas"
        child = pulumi.ResourceOptions(parent=self)
        protected = pulumi.ResourceOptions(parent=self, protect=args.protect)

        project = self._project = mongodbatlas.Project(
            f"{name}-project",
            name=args.project_name,
            org_id=settings.org_id,
            with_default_alerts_settings=True,
            opts=protected,
        )

        # Atlas places a dedicated cluster in the region's container when it creates it; the
        # container must exist by then to carry the configured block instead of a default one.
        container = (
            mongodbatlas.NetworkContainer(
                f"{name}-container",
                project_id=project.id,
                provider_name="AWS",
                region_name=settings.region,
                atlas_cidr_block=settings.peering_cidr,
                opts=child,
            )
            if args.peering is not None
            else None
        )

        if settings.tier in ("M0", "FLEX"):
            cluster = mongodbatlas.AdvancedCluster(
                f"{name}-cluster",
                project_id=project.id,
                name=CLUSTER_NAME,
                cluster_type="REPLICASET",
                replication_specs=[{"region_configs": [_shared_region(settings.tier, settings.region)]}],
                termination_protection_enabled=settings.termination_protection,
                opts=protected,
            )
        else:
            cluster = mongodbatlas.AdvancedCluster(
                f"{name}-cluster",
                project_id=project.id,
                name=CLUSTER_NAME,
                cluster_type="REPLICASET",
                mongo_db_major_version=settings.mongo_version,
                replication_specs=[
                    {
                        "region_configs": [
                            {
                                "provider_name": "AWS",
                                "region_name": settings.region,
                                "priority": 7,
                                "electable_specs": {"instance_size": settings.tier, "node_count": 3},
                                "auto_scaling": {"disk_gb_enabled": True},
                            }
                        ]
                    }
                ],
                backup_enabled=settings.cloud_backup,
                pit_enabled=settings.pit_restore,
                # Snapshots outlive an accidentally deleted cluster.
                retain_backups_enabled=settings.cloud_backup,
                termination_protection_enabled=settings.termination_protection,
                advanced_configuration={
                    "minimum_enabled_tls_protocol": "TLS1_2",
                    "javascript_enabled": False,
                },
                opts=pulumi.ResourceOptions.merge(
                    protected, pulumi.ResourceOptions(depends_on=[container] if container else [])
                ),
            )

        self._access_list(name, project, [*settings.access_cidrs, *args.access_cidrs])

        password = random.RandomPassword(
            f"{name}-app-password",
            length=32,
            special=True,
            override_special=PASSWORD_SPECIALS,
            min_lower=1,
            min_upper=1,
            min_numeric=1,
            opts=child,
        )
        user = mongodbatlas.DatabaseUser(
            f"{name}-app-user",
            project_id=project.id,
            username=APP_USERNAME,
            password=pulumi.Output.secret(password.result),
            auth_database_name="admin",
            roles=[{"role_name": "readWrite", "database_name": settings.database_name}],
            scopes=[{"name": cluster.name, "type": "CLUSTER"}],
            opts=child,
        )

        if args.private_link is not None:
            srv = self._private_link_srv(name, project, cluster, args.private_link, settings.region)
        elif args.peering is not None and container is not None:
            srv = self._peering_srv(name, project, cluster, container, args.peering, settings.peering_cidr)
        else:
            srv = cluster.connection_strings.apply(lambda strings: strings.standard_srv)

        publish(
            self,
            project_id=project.id,
            cluster_name=cluster.name,
            username=user.username,
            connection_uri=_srv_uri(
                srv, user.username, password.result, f"{settings.database_name}?retryWrites=true&w=majority"
            ),
            backup_connection_uri=self._backup_user(name, project, cluster, srv)
            if args.backup_user
            else None,
        )

    def _backup_user(
        self,
        name: str,
        project: mongodbatlas.Project,
        cluster: mongodbatlas.AdvancedCluster,
        srv: pulumi.Output[str],
    ) -> pulumi.Output[str]:
        """A user that can read everything ``mongodump`` needs and write nothing: Atlas' built-in
        ``backup`` role on ``admin`` (https://www.mongodb.com/docs/atlas/mongodb-users-roles-and-privileges/,
        "Atlas built-in roles"; MongoDB's ``backup`` role grants find on every database and the
        cluster reads of ``mongodump``, no insert/update/remove), scoped to this cluster."""
        child = pulumi.ResourceOptions(parent=self)
        password = random.RandomPassword(
            f"{name}-backup-password",
            length=32,
            special=True,
            override_special=PASSWORD_SPECIALS,
            min_lower=1,
            min_upper=1,
            min_numeric=1,
            opts=child,
        )
        user = mongodbatlas.DatabaseUser(
            f"{name}-backup-user",
            project_id=project.id,
            username=BACKUP_USERNAME,
            password=pulumi.Output.secret(password.result),
            auth_database_name="admin",
            roles=[{"role_name": "backup", "database_name": "admin"}],
            scopes=[{"name": cluster.name, "type": "CLUSTER"}],
            opts=child,
        )
        # No database in the path: mongodump then dumps every database the role can read.
        return _srv_uri(srv, user.username, password.result, "?retryWrites=true&w=majority")

    def _access_list(
        self, name: str, project: mongodbatlas.Project, cidrs: Sequence[pulumi.Input[str]]
    ) -> None:
        # Atlas keys an entry by its address, and every argument of the resource forces a
        # replacement (internal/service/projectipaccesslist/resource_schema.go: RequiresReplace on
        # cidr_block, ip_address, aws_security_group and comment). Replaced the engine's default way,
        # the new entry is the old one POSTed again, then the old one's Delete removes that address
        # (resource_project_ip_access_list.go, Delete: DeleteAccessListEntry by the entry): the
        # address would be gone with the state saying it is there. So entries go before they come.
        for index, value in enumerate(cidrs):
            if isinstance(value, str):
                cidr: pulumi.Input[str] = _as_cidr(value)
                label = str(cidr).replace("/", "-").replace(":", "-")
            else:
                # Known only at deploy time (e.g. a NAT EIP): checked then.
                cidr = pulumi.Output.from_input(value).apply(_as_cidr)
                label = f"egress-{index}"
            mongodbatlas.ProjectIpAccessList(
                f"{name}-access-{label}",
                project_id=project.id,
                cidr_block=cidr,
                comment="platform application egress",
                opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
            )

    def _private_link_srv(
        self,
        name: str,
        project: mongodbatlas.Project,
        cluster: mongodbatlas.AdvancedCluster,
        link: AtlasPrivateLink,
        atlas_region: str,
    ) -> pulumi.Output[str]:
        """Create the PrivateLink path and return the cluster's SRV string through it."""
        child = pulumi.ResourceOptions(parent=self)
        # Atlas maps each node to its own port on the endpoint, so the path is TCP 1024-65535,
        # from the tasks only, in both groups.
        endpoint_sg = aws.ec2.SecurityGroup(
            f"{name}-vpce-sg",
            vpc_id=link.vpc_id,
            description="Atlas PrivateLink endpoint: MongoDB from the services that use it",
            region=link.region,
            tags={"Name": f"{self._aws_label}-endpoint"},
            opts=child,
        )
        self._endpoint_group = endpoint_sg
        endpoint = mongodbatlas.PrivateLinkEndpoint(
            f"{name}-private-link",
            project_id=project.id,
            provider_name="AWS",
            region=atlas_region,
            opts=child,
        )
        vpc_endpoint = aws.ec2.VpcEndpoint(
            f"{name}-vpce",
            vpc_id=link.vpc_id,
            service_name=endpoint.endpoint_service_name,
            vpc_endpoint_type="Interface",
            subnet_ids=list(link.subnet_ids),
            security_group_ids=[endpoint_sg.id],
            # Atlas publishes the private host names itself; AWS private DNS is not used.
            private_dns_enabled=False,
            region=link.region,
            tags={"Name": self._aws_label},
            opts=child,
        )
        service = mongodbatlas.PrivateLinkEndpointService(
            f"{name}-private-link-service",
            project_id=endpoint.project_id,
            private_link_id=endpoint.private_link_id,
            endpoint_service_id=vpc_endpoint.id,
            provider_name="AWS",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[cluster]),
        )
        # The cluster's own outputs predate the endpoint; read it again once the endpoint is
        # accepted, and take the SRV string of this VPC endpoint.
        refreshed = mongodbatlas.get_advanced_cluster_output(
            project_id=project.id,
            name=cluster.name,
            opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[service]),
        )

        def pick(
            strings: mongodbatlas.outputs.GetAdvancedClusterConnectionStringsResult, endpoint_id: str
        ) -> str:
            for private in strings.private_endpoints or []:
                if any(e.endpoint_id == endpoint_id for e in private.endpoints or []):
                    return private.srv_connection_string
            raise ValueError(
                f"MongoAtlas: Atlas lists no private-endpoint connection string for {endpoint_id} yet; "
                "run `pulumi up` again once the endpoint is AVAILABLE"
            )

        # Not Output.all: it would turn the typed result (a dict subclass) back into a plain dict.
        return vpc_endpoint.id.apply(
            lambda endpoint_id: refreshed.connection_strings.apply(lambda strings: pick(strings, endpoint_id))
        )

    def _peering_srv(
        self,
        name: str,
        project: mongodbatlas.Project,
        cluster: mongodbatlas.AdvancedCluster,
        container: mongodbatlas.NetworkContainer,
        peering: AtlasPeering,
        atlas_cidr: str,
    ) -> pulumi.Output[str]:
        """Peer the VPC with Atlas' container and return the cluster's SRV string, once the path exists."""
        child = pulumi.ResourceOptions(parent=self)
        account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        # Atlas requests the peering from its side; this account accepts it.
        connection = mongodbatlas.NetworkPeering(
            f"{name}-peering",
            project_id=project.id,
            container_id=container.container_id,
            provider_name="AWS",
            accepter_region_name=peering.region,
            aws_account_id=account_id,
            vpc_id=peering.vpc_id,
            route_table_cidr_block=peering.vpc_cidr,
            opts=child,
        )
        accepter = aws.ec2.VpcPeeringConnectionAccepter(
            f"{name}-peering-accepter",
            vpc_peering_connection_id=connection.connection_id,
            auto_accept=True,
            region=peering.region,
            tags={"Name": self._aws_label},
            opts=child,
        )
        routes = [
            aws.ec2.Route(
                f"{name}-route-{index}",
                route_table_id=route_table_id,
                destination_cidr_block=atlas_cidr,
                # The accepter's id, not the request's: a route may only use an accepted peering.
                vpc_peering_connection_id=accepter.id,
                region=peering.region,
                opts=child,
            )
            for index, route_table_id in enumerate(peering.route_table_ids)
        ]
        # Over a same-region peering Atlas admits a security group of the peered VPC: only the
        # tasks get in, not everything else with an address in the VPC (NAT instances included).
        # Deleted before it is replaced, like the other entries (see _access_list).
        self._peering = (accepter, atlas_cidr, peering.region)
        # The standard SRV string, not `privateSrv`: for AWS clusters Atlas returns privateSrv only
        # with custom DNS on (provider internal/service/advancedcluster/schema.go, private_srv:
        # "For Amazon Web Services (AWS) clusters, this parameter returns only if you enable custom
        # DNS"), which is meant for VPCs that use their own DNS servers. This VPC uses Amazon's
        # resolver with DNS hostnames and resolution on (components/network.py), so the standard
        # host names resolve to the nodes' private addresses through the peering
        # (https://www.mongodb.com/docs/atlas/security-vpc-peering/). Should they ever resolve
        # publicly, the access list holds no NAT address, so Atlas refuses the connection: the
        # path fails closed instead of leaving the VPC.
        srv = cluster.connection_strings.apply(lambda strings: strings.standard_srv)
        # Carry the path in the URI's dependencies: what stores the URI (and the tasks reading it)
        # waits for the accepted peering and the routes. The clients' access-list entries come
        # with :meth:`admit`, registered beside the services that read the URI.
        path = [accepter.id, *(route.id for route in routes)]
        return pulumi.Output.all(srv, *path).apply(lambda values: values[0])

    def admit(self, client: str, security_group_id: pulumi.Input[str]) -> None:
        """Let the tasks of ``client`` (an AWS service given ``MONGODB_URI``) reach the cluster the
        way the stack connects: through the PrivateLink endpoint, which admits their group; over the
        peering, where Atlas' access list names their group; or on 27017 on the internet, where the
        access list of NAT addresses guards the public endpoints.

        Called once per client after the services exist (they need the cluster's URI first), like
        SST's ``cluster.addService``; the rules and the access-list entry are the cluster's children.
        """
        name = self._name
        if self._endpoint_group is not None:
            # Atlas maps each node to its own port on the endpoint: TCP 1024-65535, both ways.
            admit_clients(
                f"{name}-vpce",
                group_id=self._endpoint_group.id,
                clients={client: security_group_id},
                ports=ATLAS_PRIVATE_LINK_PORTS,
                what="MongoDB Atlas through PrivateLink",
                region=self._endpoint_group.region,
                parent=self,
            )
            return
        if self._peering is not None:
            accepter, atlas_cidr, region = self._peering
            # Over a same-region peering Atlas admits a security group of the peered VPC: only
            # the client's tasks get in, not everything else with an address in the VPC (NAT
            # instances included). Deleted before it is replaced, like the other entries (see
            # _access_list).
            mongodbatlas.ProjectIpAccessList(
                f"{name}-access-{client}",
                project_id=self._project.id,
                aws_security_group=security_group_id,
                comment=f"platform {client} tasks over VPC peering",
                opts=pulumi.ResourceOptions(parent=self, depends_on=[accepter], delete_before_replace=True),
            )
            way_out, what = (atlas_cidr, region), "MongoDB Atlas, peered"
        else:
            # Public endpoints have no fixed addresses a rule could name; the IP access list of
            # NAT addresses is what guards them.
            way_out, what = (ANYWHERE_IPV4, None), "MongoDB Atlas"
        tcp_rule(
            f"{name}-{client}-out",
            direction="out",
            group_id=security_group_id,
            ports=(ATLAS_PORT, ATLAS_PORT),
            cidr=way_out[0],
            description=what,
            region=way_out[1],
            parent=self,
        )
