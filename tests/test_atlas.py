"""MongoAtlas: tier -> cluster resource, access list, user, PrivateLink, VPC peering and the secret URI."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_mongodbatlas as mongodbatlas
import pytest

from components.atlas import AtlasPeering, AtlasPrivateLink, MongoAtlas, MongoAtlasArgs, _as_cidr
from components.settings import PRESETS, AtlasSettings
from tests.conftest import committed_run
from tools.harness import Run, run_stack
from tools.mocks import ACCOUNT_ID, Secret

CONFIG = {"aws:region": "ap-northeast-1", "platform:topology": "staging"}
ORG = "5f1e2d3c4b5a69788796a5b4"
VPN = "198.51.100.0/28"
NAT_IP = "203.0.113.25"
ADVANCED = "mongodbatlas:index/advancedCluster:AdvancedCluster"
ACCESS = "mongodbatlas:index/projectIpAccessList:ProjectIpAccessList"
USER = "mongodbatlas:index/databaseUser:DatabaseUser"
PRIVATE_LINK_TYPES = {
    "aws:ec2/securityGroup:SecurityGroup",
    "mongodbatlas:index/privateLinkEndpoint:PrivateLinkEndpoint",
    "mongodbatlas:index/privateLinkEndpointService:PrivateLinkEndpointService",
    "aws:ec2/vpcEndpoint:VpcEndpoint",
}
CONTAINER = "mongodbatlas:index/networkContainer:NetworkContainer"
PEERING = "mongodbatlas:index/networkPeering:NetworkPeering"
ACCEPTER = "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter"
ROUTE = "aws:ec2/route:Route"
PEERING_TYPES = {CONTAINER, PEERING, ACCEPTER, ROUTE}
CUSTOM_DNS = "mongodbatlas:index/customDnsConfigurationClusterAws:CustomDnsConfigurationClusterAws"
LINK = AtlasPrivateLink(
    vpc_id="vpc-0commercial",
    subnet_ids=["subnet-0private0a", "subnet-0private0c"],
    region="ap-northeast-1",
)
PEER = AtlasPeering(
    vpc_id="vpc-0commercial",
    vpc_cidr="10.0.0.0/16",
    route_table_ids=["rtb-0private0a", "rtb-0private0c", "rtb-0private0d"],
    region="ap-northeast-1",
)
ATLAS_BLOCK = "192.168.248.0/21"
# The one client service the AWS topologies admit (the API tasks' security group).
TASKS_SG = "sg-0apptasks"


def _settings(tier_preset: str, **overrides: Any) -> AtlasSettings:
    return AtlasSettings.model_validate({**PRESETS[tier_preset]["atlas"], "orgId": ORG, **overrides})


def _run(args: MongoAtlasArgs) -> Run:
    def program() -> None:
        atlas = MongoAtlas("mongo", args)
        atlas.admit("api", TASKS_SG)
        pulumi.export("connection_uri", atlas.connection_uri)
        pulumi.export("project_id", atlas.project_id)
        pulumi.export("cluster_name", atlas.cluster_name)
        pulumi.export("username", atlas.username)

    return run_stack("staging", config=CONFIG, program=program)


def _egress() -> list[pulumi.Input[str]]:
    # A NAT EIP is an Output known only at deploy time, and a bare IP rather than a CIDR.
    return [pulumi.Output.from_input(NAT_IP)]


@pytest.fixture(scope="module")
def m0() -> Run:
    settings = _settings("staging", accessCidrs=[VPN])
    return _run(MongoAtlasArgs(settings=settings, project_name="platform-staging", access_cidrs=_egress()))


@pytest.fixture(scope="module")
def m10() -> Run:
    args = MongoAtlasArgs(
        settings=_settings("commercial", connectivity="private-link"),
        project_name="platform-commercial",
        access_cidrs=_egress(),
        private_link=LINK,
        protect=True,
    )
    return _run(args)


@pytest.fixture(scope="module")
def peered() -> Run:
    # As the commercial topology builds it: no egress addresses, a VPN the operators added.
    settings = _settings("commercial", accessCidrs=[VPN])
    assert settings.connectivity == "peering" and settings.peering_cidr == ATLAS_BLOCK
    return _run(
        MongoAtlasArgs(settings=settings, project_name="platform-commercial", peering=PEER, protect=True)
    )


# -- tier -> resource ----------------------------------------------------------------------


def test_m0_is_the_free_tenant_tier_on_aws(m0: Run) -> None:
    [region] = m0.one(ADVANCED)["replicationSpecs"][0]["regionConfigs"]
    assert region["providerName"] == "TENANT"
    assert region["backingProviderName"] == "AWS"
    assert region["electableSpecs"]["instanceSize"] == "M0"
    assert region["regionName"] == "AP_NORTHEAST_1"
    assert not m0.one(ADVANCED).get("backupEnabled")


def test_flex_is_an_advanced_cluster_on_the_flex_provider() -> None:
    run = _run(MongoAtlasArgs(settings=_settings("staging", tier="FLEX"), project_name="platform-pre"))
    cluster = run.one(ADVANCED)
    # The provider's "Example Flex Cluster" (docs/resources/advanced_cluster.md in
    # mongodb/terraform-provider-mongodbatlas): provider FLEX, backing AWS, priority 7, no specs.
    [region] = cluster["replicationSpecs"][0]["regionConfigs"]
    assert region == {
        "providerName": "FLEX",
        "backingProviderName": "AWS",
        "regionName": "AP_NORTHEAST_1",
        "priority": 7,
    }
    assert cluster["projectId"] == run.output("project_id")
    assert run.output("connection_uri").startswith("mongodb+srv://app:")


def test_a_tier_change_updates_the_cluster_in_place() -> None:
    # The provider upgrades M0 -> Flex -> dedicated inside one advanced_cluster resource
    # (docs/resources/advanced_cluster.md: "Example Tenant Cluster Upgrade to Flex", "Example Flex
    # Cluster Upgrade"; resource.go Update: upgradeTenant / upgradeFlexToDedicated). The engine
    # updates a resource in place only when its URN (type and name) is unchanged; a new type would
    # be a second cluster named "main", which Atlas refuses while the first exists.
    urns = set()
    for tier in ("M0", "FLEX", "M10"):
        settings = _settings("commercial" if tier == "M10" else "staging", tier=tier, connectivity="public")
        urns.add(_run(MongoAtlasArgs(settings=settings, project_name="p")).named("mongo-cluster").urn)
    assert len(urns) == 1


def test_m10_is_a_dedicated_three_node_replica_set_with_backups(m10: Run) -> None:
    cluster = m10.one(ADVANCED)
    assert cluster["clusterType"] == "REPLICASET"
    [region] = cluster["replicationSpecs"][0]["regionConfigs"]
    assert region["providerName"] == "AWS"
    assert "backingProviderName" not in region
    assert region["electableSpecs"] == {"instanceSize": "M10", "nodeCount": 3}
    assert region["regionName"] == "AP_NORTHEAST_1"
    assert cluster["backupEnabled"] is True
    assert cluster["pitEnabled"] is True
    assert cluster["terminationProtectionEnabled"] is True
    assert cluster["mongoDbMajorVersion"] == "8.0"
    assert cluster["advancedConfiguration"]["minimumEnabledTlsProtocol"] == "TLS1_2"


def test_protect_covers_project_and_cluster(m10: Run, m0: Run) -> None:
    assert m10.one("mongodbatlas:index/project:Project").protect is True
    assert m10.one(ADVANCED).protect is True
    assert m0.one(ADVANCED).protect is False


def test_project_is_in_the_organisation(m0: Run) -> None:
    project = m0.one("mongodbatlas:index/project:Project")
    assert project["orgId"] == ORG
    assert project["name"] == "platform-staging"


# -- network access ------------------------------------------------------------------------


def test_access_list_holds_exactly_the_configured_and_egress_addresses(m0: Run) -> None:
    entries = m0.of_type(ACCESS)
    assert sorted(e["cidrBlock"] for e in entries) == sorted([VPN, f"{NAT_IP}/32"])
    assert all(e["projectId"] == m0.output("project_id") for e in entries)
    assert all(e["cidrBlock"] != "0.0.0.0/0" for e in entries)


def test_access_list_entries_are_deleted_before_they_are_replaced(m0: Run, peered: Run) -> None:
    # Every argument of the entry forces replacement (mongodb/terraform-provider-mongodbatlas
    # internal/service/projectipaccesslist/resource_schema.go: RequiresReplace), and Atlas keys the
    # entry by its address (resource_project_ip_access_list.go, Delete: DeleteAccessListEntry by
    # the cidr, IP or group). Created first, the replacement would re-add the address and the old
    # entry's Delete would then remove it.
    entries = [*m0.of_type(ACCESS), *peered.of_type(ACCESS)]
    assert len(entries) == 4
    assert all(entry.delete_before_replace for entry in entries)


def test_the_whole_internet_is_refused() -> None:
    args = MongoAtlasArgs(
        settings=_settings("staging"), project_name="platform-staging", access_cidrs=["0.0.0.0/0"]
    )
    with pytest.raises(ValueError, match="whole internet"):
        MongoAtlas("mongo", args)


@pytest.mark.parametrize("everyone", ["0.0.0.0/0", "::/0", "0.0.0.0/0.0.0.0"])
def test_deploy_time_addresses_are_checked_too(everyone: str) -> None:
    # Egress IPs known only at deploy time go through the same check inside their Output.
    with pytest.raises(ValueError, match="whole internet"):
        _as_cidr(everyone)
    assert _as_cidr(NAT_IP) == f"{NAT_IP}/32"


def test_no_private_path_unless_asked(m0: Run) -> None:
    assert not (PRIVATE_LINK_TYPES | PEERING_TYPES) & m0.types()
    run = _run(
        MongoAtlasArgs(settings=_settings("commercial", connectivity="public"), project_name="platform-c")
    )
    assert not (PRIVATE_LINK_TYPES | PEERING_TYPES) & run.types()


def test_each_private_path_builds_only_its_own_resources(m10: Run, peered: Run) -> None:
    assert not PEERING_TYPES & m10.types()
    assert not PRIVATE_LINK_TYPES & peered.types()


def test_private_link_is_refused_on_shared_tiers() -> None:
    args = MongoAtlasArgs(settings=_settings("staging"), project_name="platform-staging", private_link=LINK)
    with pytest.raises(ValueError, match="dedicated tier"):
        MongoAtlas("mongo", args)


def test_private_link_setting_without_a_vpc_is_refused() -> None:
    with pytest.raises(ValueError, match="PrivateLink"):
        MongoAtlas(
            "mongo",
            MongoAtlasArgs(settings=_settings("commercial", connectivity="private-link"), project_name="c"),
        )


def test_private_link_must_be_in_the_cluster_region() -> None:
    elsewhere = AtlasPrivateLink(vpc_id="vpc-1", subnet_ids=["subnet-1"], region="us-east-1")
    settings = _settings("commercial", connectivity="private-link")
    args = MongoAtlasArgs(settings=settings, project_name="platform-c", private_link=elsewhere)
    with pytest.raises(ValueError, match="regional"):
        MongoAtlas("mongo", args)


def test_private_link_wires_atlas_to_an_interface_endpoint(m10: Run) -> None:
    endpoint = m10.one("mongodbatlas:index/privateLinkEndpoint:PrivateLinkEndpoint")
    assert endpoint["providerName"] == "AWS"
    assert endpoint["region"] == "AP_NORTHEAST_1"
    vpce = m10.one("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert vpce["vpcEndpointType"] == "Interface"
    assert vpce["serviceName"] == endpoint.outputs["endpointServiceName"]
    assert vpce["vpcId"] == LINK.vpc_id
    assert vpce["subnetIds"] == LINK.subnet_ids
    endpoint_sg = m10.one("aws:ec2/securityGroup:SecurityGroup")
    assert vpce["securityGroupIds"] == [endpoint_sg.id]
    assert vpce["privateDnsEnabled"] is False
    service = m10.one("mongodbatlas:index/privateLinkEndpointService:PrivateLinkEndpointService")
    assert service["endpointServiceId"] == vpce.id
    assert service["privateLinkId"] == endpoint.outputs["privateLinkId"]
    assert service["providerName"] == "AWS"


def test_private_link_admits_only_the_tasks_on_atlas_node_ports(m10: Run) -> None:
    endpoint_sg = m10.one("aws:ec2/securityGroup:SecurityGroup")
    [ingress] = m10.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    [egress] = m10.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    assert ingress["securityGroupId"] == endpoint_sg.id
    assert ingress["referencedSecurityGroupId"] == TASKS_SG
    assert "cidrIpv4" not in ingress.inputs
    assert egress["securityGroupId"] == TASKS_SG
    assert egress["referencedSecurityGroupId"] == endpoint_sg.id
    for rule in (ingress, egress):
        assert (rule["ipProtocol"], rule["fromPort"], rule["toPort"]) == ("tcp", 1024, 65535)


def test_private_link_uri_uses_the_private_endpoint_host(m10: Run) -> None:
    host = m10.output("connection_uri").split("@", 1)[1].split("/", 1)[0]
    assert host.startswith("main-pl-0.")
    public = m10.one(ADVANCED).outputs["connectionStrings"]["standardSrv"].removeprefix("mongodb+srv://")
    assert host != public


# -- VPC peering ---------------------------------------------------------------------------


def test_peering_is_refused_on_shared_tiers() -> None:
    args = MongoAtlasArgs(settings=_settings("staging"), project_name="platform-staging", peering=PEER)
    with pytest.raises(ValueError, match="VPC peering needs a dedicated tier"):
        MongoAtlas("mongo", args)


def test_peering_setting_without_a_vpc_is_refused() -> None:
    with pytest.raises(ValueError, match="ask for VPC peering but no AtlasPeering"):
        MongoAtlas("mongo", MongoAtlasArgs(settings=_settings("commercial"), project_name="platform-c"))


def test_a_vpc_for_the_other_path_is_refused() -> None:
    # Peering settings with a PrivateLink VPC would build neither path the settings describe.
    args = MongoAtlasArgs(settings=_settings("commercial"), project_name="platform-c", private_link=LINK)
    with pytest.raises(
        ValueError, match=r"AtlasPrivateLink was given but settings\.connectivity is 'peering'"
    ):
        MongoAtlas("mongo", args)


def test_peering_must_be_in_the_cluster_region() -> None:
    elsewhere = AtlasPeering(
        vpc_id="vpc-1", vpc_cidr="10.0.0.0/16", route_table_ids=["rtb-1"],
        region="us-east-1",
    )  # fmt: skip
    args = MongoAtlasArgs(settings=_settings("commercial"), project_name="platform-c", peering=elsewhere)
    with pytest.raises(ValueError, match="one region"):
        MongoAtlas("mongo", args)


def test_the_container_holds_atlas_block_in_the_cluster_region_before_the_cluster(peered: Run) -> None:
    container = peered.one(CONTAINER)
    assert container["projectId"] == peered.output("project_id")
    assert (container["providerName"], container["regionName"]) == ("AWS", "AP_NORTHEAST_1")
    assert container["atlasCidrBlock"] == ATLAS_BLOCK
    # Atlas puts the cluster in the region's container as it creates it.
    assert container.urn in peered.one(ADVANCED).dependencies


def test_atlas_requests_a_peering_with_the_vpc_of_this_account(peered: Run) -> None:
    peering = peered.one(PEERING)
    assert peering["containerId"] == peered.one(CONTAINER).outputs["containerId"]
    assert peering["projectId"] == peered.output("project_id")
    assert peering["providerName"] == "AWS"
    assert peering["accepterRegionName"] == "ap-northeast-1"
    assert peering["awsAccountId"] == ACCOUNT_ID
    assert peering["vpcId"] == PEER.vpc_id
    assert peering["routeTableCidrBlock"] == PEER.vpc_cidr


def test_the_account_accepts_exactly_that_peering(peered: Run) -> None:
    accepter = peered.one(ACCEPTER)
    assert accepter["vpcPeeringConnectionId"] == peered.one(PEERING).outputs["connectionId"]
    assert accepter["autoAccept"] is True
    assert accepter["region"] == PEER.region


def test_every_private_route_table_sends_atlas_block_through_the_accepted_peering(peered: Run) -> None:
    connection = peered.one(PEERING).outputs["connectionId"]
    routes = peered.of_type(ROUTE)
    assert sorted(r["routeTableId"] for r in routes) == sorted(PEER.route_table_ids)
    for route in routes:
        assert route["destinationCidrBlock"] == ATLAS_BLOCK
        assert route["vpcPeeringConnectionId"] == connection
        assert peered.one(ACCEPTER).urn in route.dependencies, "a route needs an accepted peering"
        assert not {"gatewayId", "natGatewayId", "networkInterfaceId"} & route.inputs.keys()


def test_peering_admits_the_tasks_security_group_and_the_configured_addresses_only(peered: Run) -> None:
    entries = peered.of_type(ACCESS)
    assert sorted(e.get("cidrBlock", "") for e in entries) == ["", VPN]
    [by_group] = [e for e in entries if "awsSecurityGroup" in e.inputs]
    assert by_group["awsSecurityGroup"] == TASKS_SG
    assert by_group["projectId"] == peered.output("project_id")
    # Atlas resolves the group only through an active peering.
    assert peered.one(ACCEPTER).urn in by_group.dependencies


def test_peering_uri_uses_the_standard_srv_host(peered: Run) -> None:
    # For AWS clusters Atlas returns privateSrv only with custom DNS on (provider
    # internal/service/advancedcluster/schema.go, connection_strings.private_srv), which this
    # program never enables; the standard host names resolve to the nodes' private addresses inside
    # a peered VPC with DNS hostnames and resolution on (https://www.mongodb.com/docs/atlas/security-vpc-peering/).
    strings = peered.one(ADVANCED).outputs["connectionStrings"]
    assert strings["privateSrv"] == ""
    assert CUSTOM_DNS not in peered.types()
    host = peered.output("connection_uri").split("@", 1)[1].split("/", 1)[0]
    assert host == strings["standardSrv"].removeprefix("mongodb+srv://")
    assert isinstance(peered.outputs["connection_uri"], Secret)


def test_the_peering_uri_waits_for_the_whole_path() -> None:
    # Whatever stores the URI (the SSM parameter the tasks read) is created after the accepted
    # peering and every route, so no task starts without a network path. The clients' access-list
    # entries come with admit(), once the services' groups exist (they read the URI first).
    def program() -> None:
        atlas = MongoAtlas(
            "mongo", MongoAtlasArgs(settings=_settings("commercial"), project_name="c", peering=PEER)
        )
        aws.ssm.Parameter("uri", type="SecureString", value=atlas.connection_uri)

    run = run_stack("staging", config=CONFIG, program=program)
    needed = {r.urn for r in (*run.of_type(ACCEPTER), *run.of_type(ROUTE))}
    assert len(needed) == 1 + len(PEER.route_table_ids)
    assert needed <= set(run.one("aws:ssm/parameter:Parameter").dependencies)


def test_the_mock_returns_private_srv_only_with_custom_dns() -> None:
    # The rule the mock encodes (schema.go, private_srv: "For Amazon Web Services (AWS) clusters,
    # this parameter returns only if you enable custom DNS"): peered alone gives "", peered with
    # mongodbatlas_custom_dns_configuration_cluster_aws enabled gives the -pri host.
    def program(custom_dns: bool) -> None:
        atlas = MongoAtlas(
            "mongo", MongoAtlasArgs(settings=_settings("commercial"), project_name="c", peering=PEER)
        )
        if custom_dns:
            mongodbatlas.CustomDnsConfigurationClusterAws("dns", project_id=atlas.project_id, enabled=True)
        strings = mongodbatlas.get_advanced_cluster_output(
            project_id=atlas.project_id, name=atlas.cluster_name
        ).connection_strings
        pulumi.export("private_srv", strings.apply(lambda s: s.private_srv))

    plain = run_stack("staging", config=CONFIG, program=lambda: program(False))
    with_dns = run_stack("staging", config=CONFIG, program=lambda: program(True))
    assert plain.output("private_srv") == ""
    assert with_dns.output("private_srv").startswith("mongodb+srv://main-pri.")


def test_the_vpc_resolves_atlas_host_names_privately() -> None:
    # Atlas' peering needs DNS hostnames and DNS resolution on in the application's VPC for the
    # standard host names to resolve to private addresses
    # (https://www.mongodb.com/docs/atlas/security-vpc-peering/).
    run = committed_run("prod-commercial")
    assert run.of_type(PEERING), "the commercial stack reaches Atlas over peering"
    vpc = run.one("aws:ec2/vpc:Vpc")
    assert vpc["enableDnsHostnames"] is True
    assert vpc["enableDnsSupport"] is True


# -- user and connection string ------------------------------------------------------------


def test_user_may_only_read_and_write_the_app_database_on_this_cluster(m0: Run) -> None:
    user = m0.one(USER)
    assert user["authDatabaseName"] == "admin"
    assert user["roles"] == [{"roleName": "readWrite", "databaseName": "app"}]
    assert user["scopes"] == [{"name": m0.output("cluster_name"), "type": "CLUSTER"}]
    assert isinstance(user.inputs["password"], Secret)


def test_connection_uri_is_secret_tls_srv_with_the_credentials(m0: Run) -> None:
    assert isinstance(m0.outputs["connection_uri"], Secret)
    password = m0.one(USER)["password"]
    public = m0.one(ADVANCED).outputs["connectionStrings"]["standardSrv"].removeprefix("mongodb+srv://")
    assert m0.output("connection_uri") == (
        f"mongodb+srv://{m0.output('username')}:{password}@{public}/app?retryWrites=true&w=majority"
    )
    for resource in m0.resources:
        plain = [v for v in resource.inputs.values() if isinstance(v, str)]
        assert all(password not in v for v in plain), f"{resource.name} has the password in plain text"
