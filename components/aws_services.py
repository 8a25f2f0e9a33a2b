"""The services of the AWS topologies: one Service per ``platform:services`` entry, with its image,
the secrets it receives, its route on the shared load balancer and the data stores that admit it.

Part of components/topologies.py's ``build_aws``, in its own module for length.
"""

from __future__ import annotations

import re

import pulumi

from components.admission import ANYWHERE_IPV4
from components.atlas import ATLAS_PORT, MongoAtlas
from components.cluster import Cluster
from components.containers import DatadogSidecar
from components.database import Database
from components.kms import StackKey
from components.load_balancer import LoadBalancer
from components.network import Network
from components.secrets import SecretParameters
from components.service import Egress, Routing, Service, ServiceArgs
from components.settings import Settings
from components.storage import Storage


def service_parameters(settings: Settings, service: str, sentry_dsns: dict[str, str]) -> dict[str, str]:
    """Env var -> parameter name of what one service receives: the secrets it lists (the
    pre-commercial ones during the canary) and its own Sentry DSN."""
    legacy = "LEGACY_" if settings.cutover.legacy_data else ""
    parameters = {name: f"{legacy}{name}" for name in settings.services[service].secrets}
    if service in sentry_dsns:
        parameters["SENTRY_DSN"] = sentry_dsns[service]
    return parameters


def service_image(settings: Settings, storage: Storage, service: str) -> tuple[pulumi.Input[str], bool]:
    """A service's image, and whether its tag can move: a tag of its repository moves unless the
    repository refuses overwrites; another registry's tag may move unless pinned by digest."""
    entry = settings.services[service]
    if entry.image is None:
        return (
            pulumi.Output.concat(storage.repository_urls[service], ":", entry.image_tag),
            not settings.storage.ecr_immutable_tags,
        )
    return entry.image, "@sha256:" not in entry.image


def legacy_egress(settings: Settings, service: str) -> list[Egress]:
    """During the canary, the ways out to the pre-commercial databases a service's secrets name:
    Supabase's pooler and the M0 have no fixed addresses, so they are reached anywhere."""
    if not settings.cutover.legacy_data:
        return []
    secrets = settings.services[service].secrets
    egress = []
    if "DATABASE_URL" in secrets:
        egress.append(
            Egress(
                settings.cutover.legacy_database_port,
                ANYWHERE_IPV4,
                "Cut-over only: pre-commercial PostgreSQL (Supabase pooler)",
            )
        )
    # Over the internet the stack's own Atlas already opens 27017 (components/atlas.py).
    if "MONGODB_URI" in secrets and settings.atlas.connectivity != "public":
        egress.append(Egress(ATLAS_PORT, ANYWHERE_IPV4, "Cut-over only: the pre-commercial MongoDB Atlas M0"))
    return egress


# A private ECR image: <account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag|@digest]
# (ECR User Guide, "Private registry concepts").
_ECR_IMAGE = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/([^:@]+)")


def repository_arn(settings: Settings, storage: Storage, service: str) -> pulumi.Input[str] | None:
    """The ECR repository a service's execution role may pull from: its own, or the private ECR
    repository its ``image`` names (another account's must also allow the pull in its repository
    policy); None for a public registry, which needs no AWS credentials."""
    if service in storage.repository_arns:
        return storage.repository_arns[service]
    match = _ECR_IMAGE.match(settings.services[service].image or "")
    if match is None:
        return None
    account, region, repository = match.groups()
    return f"arn:aws:ecr:{region}:{account}:repository/{repository}"


def build_services(
    settings: Settings,
    hosts: dict[str, str],
    network: Network,
    storage: Storage,
    cluster: Cluster,
    load_balancer: LoadBalancer,
    secrets: SecretParameters,
    sentry_dsns: dict[str, str],
    key: StackKey,
) -> dict[str, Service]:
    """One Service per ``platform:services`` entry, each served at its host on the shared ALB."""
    no_nat = settings.network.nat == "none"
    built = {}
    for name, entry in settings.services.items():
        image, image_tag_moves = service_image(settings, storage, name)
        parameters = service_parameters(settings, name, sentry_dsns)
        built[name] = Service(
            name,
            ServiceArgs(
                service=name,
                settings=entry,
                schedule=settings.schedule,
                deployment_timeout_minutes=settings.compute.deployment_timeout_minutes,
                name_prefix=settings.name(),
                region=settings.aws_region,
                vpc_id=network.vpc_id,
                subnet_ids=network.public_subnet_ids if no_nat else network.private_subnet_ids,
                assign_public_ip=no_nat,
                cluster=cluster,
                image=image,
                image_tag_moves=image_tag_moves,
                repository_arn=repository_arn(settings, storage, name),
                log_group_name=f"{settings.parameter_prefix}/{name}",
                kms_key_arn=key.key_arn,
                secrets={env: secrets.arns[parameter] for env, parameter in parameters.items()},
                egress=legacy_egress(settings, name),
                routing=Routing(
                    listener_arn=load_balancer.listener_arn,
                    load_balancer_arn_suffix=load_balancer.arn_suffix,
                    load_balancer_security_group_id=load_balancer.security_group_id,
                    host=hosts.get(name),
                )
                if entry.subdomain is not None
                else None,
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
    return built


def admit_clients(
    settings: Settings, services: dict[str, Service], database: Database, atlas: MongoAtlas | None
) -> None:
    """The data stores admit the services whose secrets name them, and only those."""
    for name, service in services.items():
        secrets = settings.services[name].secrets
        if "DATABASE_URL" in secrets:
            database.admit(name, service.security_group_id)
        if "MONGODB_URI" in secrets and atlas is not None:
            atlas.admit(name, service.security_group_id)
