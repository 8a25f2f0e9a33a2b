"""The three topologies: which components each stack builds, and how they are wired.

Staging and commercial build the same AWS components; their presets (presets/<topology>.yaml)
size them and switch features on. Data flows one way: network -> storage -> security ->
database and Atlas -> secrets -> compute -> edge -> monitoring. Pre-commercial builds the
managed platforms instead (components/platforms/topology.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.atlas import AtlasPeering, AtlasPrivateLink, MongoAtlas, MongoAtlasArgs
from components.boundary import bound_every_role, boundary_arn
from components.compute import Compute, ComputeArgs, DatadogSidecar
from components.cutover import CutoverArgs, CutoverRecords, HostArgs
from components.database import Database, DatabaseArgs
from components.database_roles import bootstrap_sql
from components.datadog import Datadog, DatadogArgs
from components.dns import ValidatedCertificate, ValidatedCertificateArgs, alias_records
from components.edge import EDGE_REGION, Edge, EdgeArgs
from components.kms import StackKey, StackKeyArgs
from components.log_shipping import LogShipping, LogShippingArgs, LogSource
from components.lookups import availability_zones, check_cutover_transition, public_zone_id
from components.migrations import DatabaseAdminTask, DatabaseAdminTaskArgs
from components.monitoring import DatabaseTargets, Monitoring, MonitoringArgs
from components.network import Network, NetworkArgs
from components.platforms.topology import build_pre_commercial
from components.postgres_tls import SUPABASE_CA_CERT, with_verified_tls
from components.secrets import SecretParameters, SecretParametersArgs
from components.security import Security, SecurityArgs
from components.sentry import SentryProjects, SentryProjectsArgs
from components.settings import (
    NAMESPACE,
    Settings,
    SettingsError,
    placeholders,
)
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
    api_host: str | None
    """``<apiSubdomain>.<domain>``; None without a domain."""
    public_hosts: dict[str, str]
    """The names CloudFront serves, by service: the cut-over's records own them in every phase."""


def build_aws(settings: Settings) -> None:
    """Staging and commercial: the same components, sized and switched by the topology preset."""
    place = _placement(settings)
    key, edge_key = _keys(settings)
    network = _network(settings, place, key)
    storage = Storage(
        "storage",
        StorageArgs(settings=settings.storage, name_prefix=settings.name(), region=settings.aws_region),
    )
    security = _security(settings, network, storage, key)
    database = _database(settings, place, network, security, key)
    secrets, api_parameters = _secrets(settings, network, security, database, key)
    image, image_tag_moves = _api_image(settings, storage)
    compute = _compute(
        settings, place, network, storage, security, secrets, api_parameters, key, image, image_tag_moves
    )
    database_admin = _database_admin(settings, network, security, database, secrets, compute, image)
    edge, url = _front_door(settings, place, network, security, compute, key, edge_key)
    monitoring = _monitoring(settings, database, compute, key, edge, edge_key)
    _datadog(settings, database, compute, key)

    pulumi.export("apiUrl", url)
    pulumi.export("vpcId", network.vpc_id)
    pulumi.export("availabilityZones", network.availability_zones)
    pulumi.export("egressIps", network.egress_ips)
    pulumi.export("ecrRepositoryUrl", storage.repository_url)
    pulumi.export("clusterName", compute.cluster_name)
    pulumi.export("serviceName", compute.service_name)
    pulumi.export("taskDefinitionArn", compute.task_definition_arn)
    pulumi.export("logGroup", compute.log_group_name)
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
    api_host = f"{settings.dns.api_subdomain}.{domain}" if domain else None
    public_hosts = {"api": api_host} if settings.edge.cloudfront and api_host and zone_id is not None else {}
    if public_hosts:
        check_cutover_transition(settings, zone_id, public_hosts)
    return _Placement(zones=zones, zone_id=zone_id, api_host=api_host, public_hosts=public_hosts)


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


def _api_log_group(settings: Settings) -> str:
    return f"{settings.parameter_prefix}/api"


def _security(settings: Settings, network: Network, storage: Storage, key: StackKey) -> Security:
    """The security-group chain and the ECS roles; what the tasks reach depends on the data's
    connectivity and, during the canary, on the pre-commercial databases."""
    legacy_data = settings.cutover.legacy_data
    atlas = settings.atlas
    return Security(
        "security",
        SecurityArgs(
            settings=settings.security,
            name_prefix=settings.name(),
            parameter_prefix=settings.parameter_prefix,
            region=settings.aws_region,
            vpc_id=network.vpc_id,
            vpc_cidr=network.vpc_cidr,
            container_port=settings.compute.container_port,
            ecr_repository_arn=storage.repository_arn,
            log_group_name=_api_log_group(settings),
            alb_public=not settings.edge.cloudfront,
            kms_key_arn=key.key_arn,
            # During a cut-over on the legacy data, the API also talks to the pre-commercial M0.
            atlas_over_internet=atlas.enabled and (atlas.connectivity == "public" or legacy_data),
            atlas_cidr=atlas.peering_cidr if atlas.enabled and atlas.connectivity == "peering" else None,
            legacy_database_port=settings.cutover.legacy_database_port if legacy_data else None,
        ),
    )


def _database(
    settings: Settings, place: _Placement, network: Network, security: Security, key: StackKey
) -> Database:
    return Database(
        "database",
        DatabaseArgs(
            settings=settings.database,
            schedule=settings.schedule,
            name_prefix=settings.name(),
            subnet_ids=network.private_subnet_ids,
            security_group_id=security.database_security_group_id,
            kms_key_arn=key.key_arn,
            availability_zones=place.zones,
            protect=settings.topology == "commercial",
        ),
    )


def _atlas(settings: Settings, network: Network, security: Security) -> MongoAtlas:
    """The Atlas project and cluster, reached the way ``atlas.connectivity`` says."""
    connectivity, region = settings.atlas.connectivity, settings.aws_region
    return MongoAtlas(
        "atlas",
        MongoAtlasArgs(
            settings=settings.atlas,
            project_name=settings.name(),
            access_cidrs=network.egress_ips if connectivity == "public" else [],
            private_link=AtlasPrivateLink(
                vpc_id=network.vpc_id,
                subnet_ids=network.private_subnet_ids,
                client_security_group_id=security.task_security_group_id,
                region=region,
            )
            if connectivity == "private-link"
            else None,
            peering=AtlasPeering(
                vpc_id=network.vpc_id,
                vpc_cidr=network.vpc_cidr,
                route_table_ids=network.private_route_table_ids,
                client_security_group_id=security.task_security_group_id,
                region=region,
            )
            if connectivity == "peering"
            else None,
            protect=settings.topology == "commercial",
        ),
    )


def _secrets(
    settings: Settings, network: Network, security: Security, database: Database, key: StackKey
) -> tuple[SecretParameters, dict[str, str]]:
    """Every secret as an SSM SecureString, and which of them the API reads under which name.

    The API gets the app role's URL; the master URL and the role's verifier are for the admin
    task only (components/migrations.py). During the canary the API runs on the pre-commercial
    databases, stored beside this stack's own URLs, which stay for the data window's copy tasks.
    """
    admin_only = {"DATABASE_MASTER_URL", "DATABASE_APP_PASSWORD_VERIFIER"}
    secret_values: dict[str, pulumi.Input[str]] = {
        "DATABASE_URL": database.url,
        "DATABASE_MASTER_URL": database.master_url,
        "DATABASE_APP_PASSWORD_VERIFIER": database.app_password_verifier,
    }
    if settings.atlas.enabled:
        secret_values["MONGODB_URI"] = _atlas(settings, network, security).connection_uri
    if settings.sentry.enabled:
        sentry = SentryProjects(
            "sentry",
            SentryProjectsArgs(
                settings=settings.sentry,
                name_prefix=settings.name(),
                projects={"api": "node-nestjs"},
                alert_environment="production" if settings.serves_users else None,
            ),
        )
        secret_values["SENTRY_DSN"] = sentry.dsns["api"]
    if settings.datadog.enabled:
        secret_values["DD_API_KEY"] = settings.datadog_api_key
    # The API reads its usual names; each points at a parameter of this stack.
    api_parameters = {name: name for name in secret_values if name not in {"DD_API_KEY", *admin_only}}
    if settings.cutover.legacy_data:
        legacy = {"DATABASE_URL": settings.cutover.legacy_database_url}
        if settings.atlas.enabled:
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
            api_parameters[name] = f"LEGACY_{name}"
    secrets = SecretParameters(
        "secrets",
        SecretParametersArgs(
            parameter_prefix=settings.parameter_prefix, kms_key_arn=key.key_arn, values=secret_values
        ),
    )
    return secrets, api_parameters


def _api_image(settings: Settings, storage: Storage) -> tuple[pulumi.Input[str], bool]:
    """The API image, and whether its tag can move: a tag of this stack's repository moves unless
    the repository refuses overwrites; another registry's tag may move unless pinned by digest."""
    compute = settings.compute
    if compute.image is None:
        return (
            pulumi.Output.concat(storage.repository_url, ":", compute.image_tag),
            not settings.storage.ecr_immutable_tags,
        )
    return compute.image, "@sha256:" not in compute.image


def _compute(
    settings: Settings,
    place: _Placement,
    network: Network,
    storage: Storage,
    security: Security,
    secrets: SecretParameters,
    api_parameters: dict[str, str],
    key: StackKey,
    image: pulumi.Input[str],
    image_tag_moves: bool,
) -> Compute:
    """The API on Fargate behind the ALB, with HTTPS when the domain gives it a certificate."""
    # Without a domain, Compute and Edge each warn about what is served over plain HTTP.
    alb_certificate = (
        ValidatedCertificate(
            "alb-certificate",
            ValidatedCertificateArgs(domain_name=place.api_host, zone_id=place.zone_id),
        )
        if place.api_host and place.zone_id is not None
        else None
    )
    return Compute(
        "compute",
        ComputeArgs(
            settings=settings.compute,
            schedule=settings.schedule,
            name_prefix=settings.name(),
            region=settings.aws_region,
            vpc_id=network.vpc_id,
            public_subnet_ids=network.public_subnet_ids,
            private_subnet_ids=network.private_subnet_ids,
            assign_public_ip=settings.network.nat == "none",
            alb_internal=settings.edge.cloudfront,
            alb_security_group_id=security.alb_security_group_id,
            task_security_group_id=security.task_security_group_id,
            execution_role_arn=security.execution_role_arn,
            task_role_arn=security.task_role_arn,
            image=image,
            image_tag_moves=image_tag_moves,
            log_group_name=_api_log_group(settings),
            kms_key_arn=key.key_arn,
            secrets={name: secrets.arns[parameter] for name, parameter in api_parameters.items()},
            access_log_bucket=storage.access_log_bucket_name,
            certificate_arn=alb_certificate.certificate_arn if alb_certificate else None,
            datadog=DatadogSidecar(
                site=settings.datadog.site,
                agent_image=settings.datadog.agent_image,
                api_key_parameter_arn=secrets.arns["DD_API_KEY"],
                env=settings.stack,
            )
            if settings.datadog.enabled
            else None,
        ),
    )


def _database_admin(
    settings: Settings,
    network: Network,
    security: Security,
    database: Database,
    secrets: SecretParameters,
    compute: Compute,
    image: pulumi.Input[str],
) -> DatabaseAdminTask:
    """The one-off task that creates the API's role (the API's image, the master URL)."""
    no_nat = settings.network.nat == "none"
    return DatabaseAdminTask(
        "database-admin",
        DatabaseAdminTaskArgs(
            name_prefix=settings.name(),
            region=settings.aws_region,
            image=image,
            architecture=settings.compute.architecture,
            execution_role_arn=security.execution_role_arn,
            task_role_arn=security.task_role_arn,
            log_group_name=compute.log_group_name,
            master_url_parameter_arn=secrets.arns["DATABASE_MASTER_URL"],
            app_password_verifier_parameter_arn=secrets.arns["DATABASE_APP_PASSWORD_VERIFIER"],
            app_role=database.app_username,
            bootstrap_sql=bootstrap_sql(settings.database.database_name, database.username),
            cluster_name=compute.cluster_name,
            subnet_ids=network.public_subnet_ids if no_nat else network.private_subnet_ids,
            security_group_id=security.task_security_group_id,
            assign_public_ip=no_nat,
        ),
    )


def _front_door(
    settings: Settings,
    place: _Placement,
    network: Network,
    security: Security,
    compute: Compute,
    key: StackKey,
    edge_key: StackKey | None,
) -> tuple[Edge | None, pulumi.Output[str]]:
    """CloudFront, WAF and the cut-over's records in front of the ALB, or the ALB's own alias
    record; returns the edge (None without CloudFront) and the API's URL."""
    if not settings.edge.cloudfront:
        if place.api_host and place.zone_id is not None:
            alias_records(
                "api-record",
                zone_id=place.zone_id,
                record_name=place.api_host,
                target_dns_name=compute.alb_dns_name,
                target_zone_id=compute.alb_zone_id,
                opts=pulumi.ResourceOptions(parent=compute),
            )
        scheme = "https" if compute.listener_port == 443 else "http"
        return None, pulumi.Output.concat(f"{scheme}://", place.api_host or compute.alb_dns_name)
    edge = Edge(
        "edge",
        EdgeArgs(
            settings=settings.edge,
            name_prefix=settings.name(),
            region=settings.aws_region,
            alb_arn=compute.alb_arn,
            alb_security_group_id=security.alb_security_group_id,
            vpc_id=network.vpc_id,
            alb_listener_port=compute.listener_port,
            alb_dns_name=compute.alb_dns_name,
            hosts={"api": place.api_host} if place.api_host else {},
            zone_id=place.zone_id,
            access_log_retention_days=settings.monitoring.log_retention_days,
            log_kms_key_arn=(edge_key or key).key_arn,
            viewer_validation_records_exist=compute.listener_port == 443,
        ),
    )
    if place.public_hosts:
        _cutover(settings, place, edge)
    return edge, pulumi.Output.concat("https://", place.api_host or edge.distribution_domain_name)


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
                    # The same API runs on both sides, so it answers the same health path.
                    legacy_health_check_path=settings.compute.health_check_path,
                )
                for service, host in place.public_hosts.items()
            },
            distribution_domain_name=edge.distribution_domain_name,
            distribution_zone_id=edge.distribution_hosted_zone_id,
        ),
    )
    pulumi.export("cutover", {"phase": records.phase, "hosts": records.hosts})


def _monitoring(
    settings: Settings,
    database: Database,
    compute: Compute,
    key: StackKey,
    edge: Edge | None,
    edge_key: StackKey | None,
) -> Monitoring:
    """Alarms on what the API, the database and the edge expose, the dashboard and the budget."""
    db = settings.database
    return Monitoring(
        "monitoring",
        MonitoringArgs(
            settings=settings.monitoring,
            name_prefix=settings.name(),
            region=settings.aws_region,
            kms_key_arn=key.key_arn,
            alb_arn_suffix=compute.alb_arn_suffix,
            target_group_arn_suffix=compute.target_group_arn_suffix,
            cluster_name=compute.cluster_name,
            service_name=compute.service_name,
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
            scales_to_zero=settings.schedule.enabled and settings.schedule.mode == "stop",
            distribution_id=edge.distribution_id if edge else None,
            web_acl_metric_name=edge.web_acl_metric_name if edge else None,
            edge_kms_key_arn=edge_key.key_arn if edge_key else None,
        ),
    )


def _datadog(settings: Settings, database: Database, compute: Compute, key: StackKey) -> None:
    """Datadog's account integration and monitors, and the log path from CloudWatch to it."""
    if settings.datadog.enabled:
        datadog = Datadog(
            "datadog",
            DatadogArgs(
                settings=settings.datadog,
                name_prefix=settings.name(),
                service_name="api",
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
    shipping = LogShipping(
        "log-shipping",
        LogShippingArgs(
            name_prefix=settings.name(),
            region=settings.aws_region,
            site=settings.datadog.site,
            api_key=settings.datadog_api_key,
            env=settings.stack,
            kms_key_arn=key.key_arn,
            sources={
                "api": LogSource(
                    log_group_names=[compute.log_group_name],
                    service="api",
                    source="nodejs",
                    filter_pattern=settings.datadog.api_logs_filter_pattern,
                ),
                "database": LogSource(
                    log_group_names=database.log_group_names,
                    service="postgresql",
                    source="postgresql",
                    # Bind parameters are never logged (components/database.py); a statement
                    # that names a password (ALTER ROLE ... PASSWORD '...', which
                    # log_statement=ddl logs) stays in CloudWatch.
                    filter_pattern=DATABASE_LOGS_PATTERN,
                ),
            },
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
