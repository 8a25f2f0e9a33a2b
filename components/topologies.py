"""The three topologies: which components each stack builds, and how they are wired.

Staging and commercial build the same AWS components; their presets (presets/<topology>.yaml)
size them and switch features on. Data flows one way: network -> storage -> database and Atlas ->
secrets -> cluster, load balancer and one Service per ``platform:services`` entry (which the data
stores then admit) -> edge -> monitoring. Pre-commercial builds the
managed platforms instead (components/platforms/topology.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.atlas import AtlasPeering, AtlasPrivateLink, MongoAtlas, MongoAtlasArgs
from components.aws_services import admit_clients, build_services, repository_arn, service_image
from components.boundary import bound_every_role, boundary_arn
from components.cluster import Cluster, ClusterArgs
from components.cutover import CutoverArgs, CutoverRecords, HostArgs
from components.database import Database, DatabaseArgs
from components.database_roles import bootstrap_sql
from components.datadog import Datadog, DatadogArgs
from components.dns import ValidatedCertificate, ValidatedCertificateArgs, alias_records
from components.edge import EDGE_REGION, Edge, EdgeArgs
from components.kms import StackKey, StackKeyArgs
from components.load_balancer import LoadBalancer, LoadBalancerArgs
from components.log_shipping import LogShipping, LogShippingArgs, LogSource
from components.lookups import availability_zones, check_cutover_transition, public_zone_id
from components.migrations import DatabaseAdminTask, DatabaseAdminTaskArgs
from components.monitoring import DatabaseTargets, Monitoring, MonitoringArgs, ServiceTargets
from components.network import Network, NetworkArgs
from components.platforms.topology import build_pre_commercial
from components.postgres_tls import SUPABASE_CA_CERT, with_verified_tls
from components.secrets import SecretParameters, SecretParametersArgs
from components.sentry import SentryProjects, SentryProjectsArgs
from components.service import Service
from components.settings import (
    CUTOVER_HOSTS,
    NAMESPACE,
    Settings,
    SettingsError,
    placeholders,
)
from components.settings.derived import DATABASE_ADMIN_IMAGE_SERVICE, public_hosts, served_services
from components.storage import Storage, StorageArgs

# Every database line except those naming a password, in any of the cases PostgreSQL statements
# are written in. Unquoted terms are matched case-sensitively and `-term` excludes
# (docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html, "Matching terms
# in unstructured log events").
DATABASE_LOGS_PATTERN = "-PASSWORD -password -Password"
# Memory of the burstable classes staging may pick, for the connection and memory alarms.
DB_INSTANCE_MEMORY_GIB = {"db.t4g.micro": 1.0, "db.t4g.small": 2.0, "db.t4g.medium": 4.0, "db.t4g.large": 8.0}


@dataclass(frozen=True)
class _Placement:
    """Where the stack lives and what it is called, all known before any resource."""

    zones: list[str]
    """The AZs the subnets spread over."""
    zone_id: str | None
    """The domain's Route 53 public zone; None without a domain."""
    hosts: dict[str, str]
    """``<subdomain>.<domain>`` of every served service, by service; empty without a domain."""
    public_hosts: dict[str, str]
    """The names CloudFront serves, by service: the cut-over's records own them in every phase."""


def build_aws(settings: Settings) -> None:
    """Staging and commercial: the same components, sized and switched by the topology preset."""
    place = _placement(settings)
    key, edge_key = _keys(settings)
    network = _network(settings, place, key)
    storage = _storage(settings)
    database = _database(settings, place, network, key)
    atlas = _atlas(settings, network) if settings.atlas.enabled else None
    secrets, sentry_dsns = _secrets(settings, database, atlas, key)
    cluster = Cluster(
        "cluster",
        ClusterArgs(name_prefix=settings.name(), container_insights=settings.compute.container_insights),
    )
    load_balancer = _load_balancer(settings, place, network, storage)
    services = build_services(
        settings, place.hosts, network, storage, cluster, load_balancer, secrets, sentry_dsns, key
    )
    admit_clients(settings, services, database, atlas)
    database_admin = _database_admin(settings, network, storage, database, secrets, cluster, services, key)
    edge, urls = _front_door(settings, place, network, load_balancer, key, edge_key)
    monitoring = _monitoring(settings, database, cluster, load_balancer, services, key, edge, edge_key)
    _datadog(settings, database, services, key)

    for service, url in urls.items():
        pulumi.export(f"{service}Url", url)
    pulumi.export("vpcId", network.vpc_id)
    pulumi.export("availabilityZones", network.availability_zones)
    pulumi.export("egressIps", network.egress_ips)
    pulumi.export("clusterName", cluster.cluster_name)
    pulumi.export(
        "services",
        {
            name: {
                "serviceName": service.service_name,
                "taskDefinitionArn": service.task_definition_arn,
                "logGroup": service.log_group_name,
                **(
                    {"repositoryUrl": storage.repository_urls[name]}
                    if name in storage.repository_urls
                    else {}
                ),
            }
            for name, service in services.items()
        },
    )
    # What the deploy workflow's rollout check compares (tools/rollout.py): ECS service -> release.
    pulumi.export(
        "releases",
        pulumi.Output.all(
            *(pulumi.Output.all(s.service_name, s.task_definition_arn) for s in services.values())
        ).apply(dict),
    )
    pulumi.export("databaseEndpoint", database.endpoint)
    pulumi.export("secretParameters", secrets.names)
    pulumi.export("databaseAdminTask", database_admin.run_task_command)
    pulumi.export("alarmTopicArn", monitoring.alarm_topic_arn)
    if edge:
        pulumi.export("cloudfrontDomain", edge.distribution_domain_name)


def _placement(settings: Settings) -> _Placement:
    """The AZs, the domain's zone and the public names, with the cut-over's phase checked."""
    zones = availability_zones(settings)
    domain = settings.dns.domain
    zone_id = public_zone_id(domain) if domain else None
    hosts = public_hosts(settings) if zone_id is not None else {}
    cloudfront_hosts = dict(hosts) if settings.edge.cloudfront else {}
    if cloudfront_hosts:
        check_cutover_transition(settings, zone_id, cloudfront_hosts)
    return _Placement(zones=zones, zone_id=zone_id, hosts=hosts, public_hosts=cloudfront_hosts)


def _keys(settings: Settings) -> tuple[StackKey, StackKey | None]:
    """The stack's KMS key, and its us-east-1 twin for CloudFront's and WAF's logs and alarms."""
    prefix, region, production = settings.name(), settings.aws_region, settings.topology == "commercial"
    key = StackKey(
        "key",
        StackKeyArgs(settings=settings.security, name_prefix=prefix, region=region, protect=production),
    )
    if not settings.edge.cloudfront or region == EDGE_REGION:
        return key, None
    edge_key = StackKey(
        "edge-key",
        StackKeyArgs(
            settings=settings.security,
            name_prefix=f"{prefix}-edge",
            region=EDGE_REGION,
            purpose="CloudFront and WAF logs and alarms in us-east-1",
            protect=production,
            vended_log_delivery=True,
        ),
    )
    return key, edge_key


def _network(settings: Settings, place: _Placement, key: StackKey) -> Network:
    return Network(
        "network",
        NetworkArgs(
            settings=settings.network,
            name_prefix=settings.name(),
            availability_zones=place.zones,
            region=settings.aws_region,
            flow_log_group_name=f"{settings.parameter_prefix}/vpc-flow-logs",
            kms_key_arn=key.key_arn,
        ),
    )


def _storage(settings: Settings) -> Storage:
    """A repository for every service deployed from this stack's registry, and the ALB's logs."""
    return Storage(
        "storage",
        StorageArgs(
            settings=settings.storage,
            name_prefix=settings.name(),
            region=settings.aws_region,
            repositories=[name for name, service in settings.services.items() if service.image is None],
        ),
    )


def _database(settings: Settings, place: _Placement, network: Network, key: StackKey) -> Database:
    return Database(
        "database",
        DatabaseArgs(
            settings=settings.database,
            schedule=settings.schedule,
            name_prefix=settings.name(),
            subnet_ids=network.private_subnet_ids,
            vpc_id=network.vpc_id,
            kms_key_arn=key.key_arn,
            availability_zones=place.zones,
            protect=settings.topology == "commercial",
        ),
    )


def _atlas(settings: Settings, network: Network) -> MongoAtlas:
    """The Atlas project and cluster, reached the way ``atlas.connectivity`` says."""
    connectivity, region = settings.atlas.connectivity, settings.aws_region
    return MongoAtlas(
        "atlas",
        MongoAtlasArgs(
            settings=settings.atlas,
            project_name=settings.name(),
            access_cidrs=network.egress_ips if connectivity == "public" else [],
            private_link=AtlasPrivateLink(
                vpc_id=network.vpc_id, subnet_ids=network.private_subnet_ids, region=region
            )
            if connectivity == "private-link"
            else None,
            peering=AtlasPeering(
                vpc_id=network.vpc_id,
                vpc_cidr=network.vpc_cidr,
                route_table_ids=network.private_route_table_ids,
                region=region,
            )
            if connectivity == "peering"
            else None,
            protect=settings.topology == "commercial",
        ),
    )


def _secrets(
    settings: Settings, database: Database, atlas: MongoAtlas | None, key: StackKey
) -> tuple[SecretParameters, dict[str, str]]:
    """Every secret as an SSM SecureString; returns them and, per service with a Sentry project,
    the parameter of its DSN.

    The services get the app role's URL; the master URL and the role's verifier are for the admin
    task only (components/migrations.py). During the canary the services run on the
    pre-commercial databases, stored beside this stack's own URLs, which stay for the data
    window's copy tasks.
    """
    secret_values: dict[str, pulumi.Input[str]] = {
        "DATABASE_URL": database.url,
        "DATABASE_MASTER_URL": database.master_url,
        "DATABASE_APP_PASSWORD_VERIFIER": database.app_password_verifier,
    }
    if atlas is not None:
        secret_values["MONGODB_URI"] = atlas.connection_uri
    sentry_dsns: dict[str, str] = {}
    projects = {name: s.sentry_platform for name, s in settings.services.items() if s.sentry_platform}
    if settings.sentry.enabled and projects:
        sentry = SentryProjects(
            "sentry",
            SentryProjectsArgs(
                settings=settings.sentry,
                name_prefix=settings.name(),
                projects=projects,
                alert_environment="production" if settings.serves_users else None,
            ),
        )
        for name in projects:
            sentry_dsns[name] = f"{name.upper().replace('-', '_')}_SENTRY_DSN"
            secret_values[sentry_dsns[name]] = sentry.dsns[name]
    if settings.datadog.enabled:
        secret_values["DD_API_KEY"] = settings.datadog_api_key
    if settings.cutover.legacy_data:
        legacy = {"DATABASE_URL": settings.cutover.legacy_database_url}
        if atlas is not None:
            legacy["MONGODB_URI"] = settings.cutover.legacy_mongodb_uri
        for name, value in legacy.items():
            if value is None:  # settings refuse this; never fall back to this stack's data silently
                raise SettingsError([f"{NAMESPACE}:cutover: phase 'canary' has no legacy {name}"])
            url = value.get_secret_value()
            if name == "DATABASE_URL":
                # Supabase's pooler URL as its dashboard shows it, verified as the pre-commercial
                # API's own (components/postgres_tls.py): node-postgres verifies it either way.
                url = with_verified_tls(url, SUPABASE_CA_CERT)
            secret_values[f"LEGACY_{name}"] = pulumi.Output.secret(url)
    secrets = SecretParameters(
        "secrets",
        SecretParametersArgs(
            parameter_prefix=settings.parameter_prefix, kms_key_arn=key.key_arn, values=secret_values
        ),
    )
    return secrets, sentry_dsns


def _load_balancer(settings: Settings, place: _Placement, network: Network, storage: Storage) -> LoadBalancer:
    """The shared ALB, with HTTPS when the domain gives it a certificate for every served host."""
    # Sorted by service, as the edge orders its viewer certificate's names (EdgeArgs.names): the
    # two certificates then share the validation records of the same names.
    hosts = [host for _, host in sorted(place.hosts.items())]
    # Without a domain, the load balancer and the edge each warn about what is served over HTTP.
    certificate = (
        ValidatedCertificate(
            "alb-certificate", ValidatedCertificateArgs.covering(hosts, zone_id=place.zone_id)
        )
        if hosts and place.zone_id is not None
        else None
    )
    return LoadBalancer(
        "load-balancer",
        LoadBalancerArgs(
            name_prefix=settings.name(),
            region=settings.aws_region,
            vpc_id=network.vpc_id,
            subnet_ids=network.private_subnet_ids if settings.edge.cloudfront else network.public_subnet_ids,
            internal=settings.edge.cloudfront,
            access_log_bucket=storage.access_log_bucket_name,
            certificate_arn=certificate.certificate_arn if certificate else None,
            deletion_protection=settings.compute.alb_deletion_protection,
        ),
    )


def _database_admin(
    settings: Settings,
    network: Network,
    storage: Storage,
    database: Database,
    secrets: SecretParameters,
    cluster: Cluster,
    services: dict[str, Service],
    key: StackKey,
) -> DatabaseAdminTask:
    """The one-off task that creates the API's role (the API's image, the master URL)."""
    no_nat = settings.network.nat == "none"
    api = services[DATABASE_ADMIN_IMAGE_SERVICE]
    image, _ = service_image(settings, storage, DATABASE_ADMIN_IMAGE_SERVICE)
    return DatabaseAdminTask(
        "database-admin",
        DatabaseAdminTaskArgs(
            name_prefix=settings.name(),
            region=settings.aws_region,
            image=image,
            architecture=settings.services[DATABASE_ADMIN_IMAGE_SERVICE].architecture,
            repository_arn=repository_arn(settings, storage, DATABASE_ADMIN_IMAGE_SERVICE),
            kms_key_arn=key.key_arn,
            log_group_name=api.log_group_name,
            master_url_parameter_arn=secrets.arns["DATABASE_MASTER_URL"],
            app_password_verifier_parameter_arn=secrets.arns["DATABASE_APP_PASSWORD_VERIFIER"],
            app_role=database.app_username,
            bootstrap_sql=bootstrap_sql(settings.database.database_name, database.username),
            cluster_name=cluster.cluster_name,
            subnet_ids=network.public_subnet_ids if no_nat else network.private_subnet_ids,
            security_group_id=api.security_group_id,
            assign_public_ip=no_nat,
        ),
    )


def _front_door(
    settings: Settings,
    place: _Placement,
    network: Network,
    load_balancer: LoadBalancer,
    key: StackKey,
    edge_key: StackKey | None,
) -> tuple[Edge | None, dict[str, pulumi.Output[str]]]:
    """CloudFront, WAF and the cut-over's records in front of the ALB, or the ALB's own alias
    records; returns the edge (None without CloudFront) and each served service's URL."""
    served = served_services(settings)
    if not settings.edge.cloudfront:
        for service, host in place.hosts.items():
            alias_records(
                f"load-balancer-{service}-record",
                zone_id=place.zone_id,
                record_name=host,
                target_dns_name=load_balancer.dns_name,
                target_zone_id=load_balancer.zone_id,
                opts=pulumi.ResourceOptions(parent=load_balancer),
            )
        scheme = "https" if load_balancer.listener_port == 443 else "http"
        return None, {
            name: pulumi.Output.concat(f"{scheme}://", place.hosts.get(name) or load_balancer.dns_name)
            for name in served
        }
    edge = Edge(
        "edge",
        EdgeArgs(
            settings=settings.edge,
            name_prefix=settings.name(),
            region=settings.aws_region,
            alb_arn=load_balancer.arn,
            alb_security_group_id=load_balancer.security_group_id,
            vpc_id=network.vpc_id,
            alb_listener_port=load_balancer.listener_port,
            alb_dns_name=load_balancer.dns_name,
            hosts=place.public_hosts,
            zone_id=place.zone_id,
            access_log_retention_days=settings.monitoring.log_retention_days,
            log_kms_key_arn=(edge_key or key).key_arn,
            viewer_validation_records_exist=load_balancer.listener_port == 443,
        ),
    )
    if place.public_hosts:
        _cutover(settings, place, edge)
    # A name the cut-over does not move (a service added beside the web and the API) is new on
    # AWS: free alias records to the distribution, as the cut-over's final phase has.
    for service, host in place.public_hosts.items():
        if service not in CUTOVER_HOSTS:
            alias_records(
                f"edge-{service}-record",
                zone_id=place.zone_id,
                record_name=host,
                target_dns_name=edge.distribution_domain_name,
                target_zone_id=edge.distribution_hosted_zone_id,
                opts=pulumi.ResourceOptions(parent=edge),
            )
    return edge, {
        name: pulumi.Output.concat("https://", place.public_hosts.get(name) or edge.distribution_domain_name)
        for name in served
    }


def _cutover(settings: Settings, place: _Placement, edge: Edge) -> None:
    """The Route 53 records of the public names, in the phase ``cutover.phase`` says."""
    cutover = settings.cutover
    records = CutoverRecords(
        "cutover",
        CutoverArgs(
            settings=cutover,
            zone_id=place.zone_id,
            hosts={
                service: HostArgs(
                    record_name=host,
                    legacy=cutover.hosts.get(service) if cutover.legacy_data else None,
                    # The same app runs on both sides, so it answers the same health path.
                    legacy_health_check_path=settings.services[service].health_check_path,
                )
                for service, host in place.public_hosts.items()
                if service in CUTOVER_HOSTS
            },
            distribution_domain_name=edge.distribution_domain_name,
            distribution_zone_id=edge.distribution_hosted_zone_id,
        ),
    )
    pulumi.export("cutover", {"phase": records.phase, "hosts": records.hosts})


def _monitoring(
    settings: Settings,
    database: Database,
    cluster: Cluster,
    load_balancer: LoadBalancer,
    services: dict[str, Service],
    key: StackKey,
    edge: Edge | None,
    edge_key: StackKey | None,
) -> Monitoring:
    """Alarms on what each service, the database and the edge expose, the dashboard and the budget."""
    db = settings.database
    return Monitoring(
        "monitoring",
        MonitoringArgs(
            settings=settings.monitoring,
            name_prefix=settings.name(),
            region=settings.aws_region,
            kms_key_arn=key.key_arn,
            alb_arn_suffix=load_balancer.arn_suffix,
            cluster_name=cluster.cluster_name,
            services=[
                ServiceTargets(
                    name=name,
                    service_name=service.service_name,
                    target_group_arn_suffix=service.target_group_arn_suffix,
                    always_on=not _scales_to_zero(settings, name),
                )
                for name, service in services.items()
            ],
            database=DatabaseTargets(
                engine=db.engine,
                instance_identifiers=database.instance_identifiers,
                cluster_identifier=database.cluster_identifier,
                reader_instances=db.reader_instances,
                schedule_group_name=database.schedule_group_name,
                # An ACU is about 2 GiB; alarms size their thresholds for the ceiling.
                memory_gib=db.max_capacity * 2
                if db.engine == "aurora-serverless-v2"
                else DB_INSTANCE_MEMORY_GIB.get(db.instance_class, 1.0),
            ),
            distribution_id=edge.distribution_id if edge else None,
            web_acl_metric_name=edge.web_acl_metric_name if edge else None,
            edge_kms_key_arn=edge_key.key_arn if edge_key else None,
        ),
    )


def _scales_to_zero(settings: Settings, service: str) -> bool:
    """Whether a service follows a schedule that leaves it no task outside business hours."""
    schedule = settings.schedule
    night_floor = 0 if schedule.mode == "stop" else schedule.off_hours_min_count
    return schedule.enabled and settings.services[service].schedule and night_floor == 0


def _datadog(settings: Settings, database: Database, services: dict[str, Service], key: StackKey) -> None:
    """Datadog's account integration and monitors, and the log path from CloudWatch to it."""
    if settings.datadog.enabled:
        datadog = Datadog(
            "datadog",
            DatadogArgs(
                settings=settings.datadog,
                name_prefix=settings.name(),
                services={name: settings.services[name].apm_root_span for name in services},
                env=settings.stack,
                stack_tag=settings.stack,
                region=settings.aws_region,
                collect_us_east_1=settings.edge.cloudfront,
                alarm_email=settings.monitoring.alarm_email,
            ),
        )
        pulumi.export("datadogIntegrationRoleArn", datadog.integration_role_arn)
    if not settings.datadog.logs:
        return
    # The container and database logs go on to Datadog; CloudWatch keeps them all.
    sources = {
        name: LogSource(
            log_group_names=[service.log_group_name],
            service=name,
            source=settings.services[name].datadog_source,
            filter_pattern=settings.datadog.logs_filter_pattern,
        )
        for name, service in services.items()
    }
    sources["database"] = LogSource(
        log_group_names=database.log_group_names,
        service="postgresql",
        source="postgresql",
        # Bind parameters are never logged (components/database.py); a statement that names a
        # password (ALTER ROLE ... PASSWORD '...', which log_statement=ddl logs) stays in CloudWatch.
        filter_pattern=DATABASE_LOGS_PATTERN,
    )
    shipping = LogShipping(
        "log-shipping",
        LogShippingArgs(
            name_prefix=settings.name(),
            region=settings.aws_region,
            site=settings.datadog.site,
            api_key=settings.datadog_api_key,
            env=settings.stack,
            kms_key_arn=key.key_arn,
            sources=sources,
            log_retention_days=settings.monitoring.log_retention_days,
            force_destroy_bucket=settings.storage.force_destroy_buckets,
        ),
    )
    pulumi.export("datadogLogStreams", shipping.stream_arns)


def build(settings: Settings) -> None:
    """Register the resources of ``settings.topology`` and export what an operator needs."""
    left = placeholders(settings)
    if left and not pulumi.runtime.is_dry_run():
        # The services would refuse them halfway through the update, after AWS resources exist.
        raise SettingsError(
            [f"{key}: {value!r} is the committed placeholder; set the real value" for key, value in left]
        )
    for key, value in left:
        pulumi.log.warn(
            f"{key} still holds the committed placeholder {value!r}: set the real value before `pulumi up`"
        )
    pulumi.export("topology", settings.topology)
    if settings.on_aws:
        bound_every_role(
            boundary_arn(
                settings.security.permissions_boundary, project=settings.project, stack=settings.stack
            )
        )
        build_aws(settings)
    else:
        build_pre_commercial(settings)
