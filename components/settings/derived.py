"""What the checks table looks at: facts derived from validated settings.

Among them the physical names made from the stack's name: ``Settings.name()`` starts every one
with ``<project>-<stack>``, and the stack's name is the one part no stack file holds, so a name a
service would refuse halfway through an update is caught by the table's ``stack`` rows before any
resource is registered.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from components.settings.cutover import CUTOVER_HOSTS
from components.settings.fields import SUPABASE_POOLER_LIMITS
from components.settings.root import Settings

# S3 bucket names: at most 63 lower-case letters, digits, dots and hyphens (S3 User Guide,
# "General purpose bucket naming rules"; the stack's buckets use no dots), 12 of them the account
# id (components/storage.py, components/backup.py).
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")
MAX_BUCKET_NAME = 63
ACCOUNT_ID = "<12-digit account id>"
# IAM role names: at most 64 characters (IAM API Reference, CreateRole ``RoleName``). The roles
# the stack names after itself, by suffix: each service's two ECS roles (components/service.py,
# ``-<service>`` and one of SERVICE_ROLE_SUFFIXES), the database admin task's two
# (components/migrations.py), the flow-log role (components/network.py) and the database
# scheduler's (components/database.py) always, Datadog's integration role (components/datadog.py)
# and the log path's two roles (components/log_shipping.py) when those are on.
SERVICE_ROLE_SUFFIXES = ("-execution", "-task")
ALWAYS_ROLE_SUFFIXES = ("-db-admin-execution", "-db-admin-task", "-vpc-flow-logs", "-db-scheduler")
DATADOG_INTEGRATION_ROLE_SUFFIX = "-datadog-integration"
LOG_SHIPPING_ROLE_SUFFIXES = ("-firehose-datadog", "-logs-to-firehose")
MAX_ROLE_NAME = 64
# Sentry project slugs: 1-50 lower-case letters, digits, '-' or '_' (components/sentry.py).
SENTRY_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,49}")

RENAME = "choose a shorter, lower-case stack name (`pulumi stack rename`)"


def bad_bucket_name(s: Settings) -> str | None:
    """The S3 bucket named after the stack, if S3 would refuse its name (the account id as a
    placeholder): the ALB's access logs on AWS, the backups in pre-commercial."""
    suffix = "-alb-logs-" if s.on_aws else "-backups-" if s.backup.enabled else None
    if suffix is None:
        return None
    fits = len(s.name() + suffix) + 12 <= MAX_BUCKET_NAME and BUCKET_NAME.fullmatch(s.name())  # 12: the id
    return None if fits else f"{s.name()}{suffix}{ACCOUNT_ID}"


def long_role_name(s: Settings) -> str | None:
    """The longest IAM role name made from the stack's name, if IAM would refuse it."""
    suffixes = [*ALWAYS_ROLE_SUFFIXES, *(f"-{n}{x}" for n in s.services for x in SERVICE_ROLE_SUFFIXES)]
    if s.datadog.enabled and s.datadog.aws_integration:
        suffixes.append(DATADOG_INTEGRATION_ROLE_SUFFIX)
    if s.datadog.logs:
        suffixes.extend(LOG_SHIPPING_ROLE_SUFFIXES)
    name = s.name() + max(suffixes, key=len)
    return name if len(name) > MAX_ROLE_NAME else None


def bad_sentry_slug(s: Settings) -> str | None:
    """The first Sentry project slug the topology would create and Sentry refuse
    (components/topologies.py: one per service with a ``sentryPlatform``; components/platforms/
    topology.py: the web's, the API's and the backup job's)."""
    if not s.sentry.enabled:
        return None
    if s.on_aws:
        projects = [name for name, service in s.services.items() if service.sentry_platform]
    else:
        projects = ["api", "web", *(["backup"] if s.backup.enabled else [])]
    slugs = (f"{s.name()}-{short}" for short in projects)
    return next((slug for slug in slugs if not SENTRY_SLUG.fullmatch(slug)), None)


# The service whose image the database admin task runs (components/migrations.py): it holds node,
# node-postgres and the CA files the database URL names.
DATABASE_ADMIN_IMAGE_SERVICE = "api"


def served_services(s: Settings) -> list[str]:
    """The services served through the load balancer (those with a subdomain), in order."""
    return [name for name, service in s.services.items() if service.subdomain is not None]


def served_on_same_host(s: Settings, name: str) -> str | None:
    """An earlier service with the same subdomain as ``name``, if any."""
    subdomain = s.services[name].subdomain
    earlier = list(s.services)[: list(s.services).index(name)]
    return next((e for e in earlier if subdomain and s.services[e].subdomain == subdomain), None)


def public_hosts(s: Settings) -> dict[str, str]:
    """``<subdomain>.<domain>`` of every served service on AWS, by service; none without a domain."""
    if not s.dns.domain:
        return {}
    return {name: f"{s.services[name].subdomain}.{s.dns.domain}" for name in served_services(s)}


def cutover_needs(s: Settings) -> list[str]:
    """What every phase but ``off`` needs and the settings lack: the names CloudFront serves."""
    needed = (("platform:dns.domain", s.dns.domain), ("platform:edge.cloudfront", s.edge.cloudfront))
    return [name for name, ok in needed if not ok]


# Vercel's CNAME targets for a custom subdomain: ``cname.vercel-dns.com``, now also numbered
# (``cname.vercel-dns-0.com``) and per project (``<hash>.vercel-dns-017.com``); Vercel shows the
# one to use for each domain (https://vercel.com/docs/domains/set-up-custom-domain). All projects
# share them: Vercel picks the project by the request's host name.
VERCEL_DNS_TARGET = re.compile(r"^([a-z0-9-]+\.)*vercel-dns(-[0-9]+)?\.com$")


def cutover_public_names(s: Settings) -> dict[str, str]:
    """The names the cut-over serves from this stack, by host (``api``, ``web``): each served
    service's ``<subdomain>.<domain>``; none without a domain."""
    return {host: name for host, name in public_hosts(s).items() if host in CUTOVER_HOSTS}


def served_name_of(s: Settings, name: str | None) -> str | None:
    """The cut-over host whose public name ``name`` is, if any."""
    return next((host for host, public in cutover_public_names(s).items() if public == name), None)


def shared_legacy_host(s: Settings, host: str) -> str | None:
    """An earlier cut-over host whose ``legacyHost`` is ``host``'s too (in the canary)."""
    hosts = s.cutover.hosts
    if host not in hosts:
        return None
    earlier = [h for h in hosts if h < host and hosts[h].legacy_host == hosts[host].legacy_host]
    return min(earlier) if earlier else None


def vercel_target_unprobed(s: Settings, host: str) -> bool:
    """Whether ``host``'s legacy side is a Vercel CNAME target with no ``healthCheckHost``."""
    entry = s.cutover.hosts.get(host)
    return (
        entry is not None
        and entry.health_check_host is None
        and VERCEL_DNS_TARGET.fullmatch(entry.legacy_host) is not None
    )


def peered(s: Settings) -> bool:
    return s.atlas.enabled and s.atlas.connectivity == "peering"


def atlas_region_as_aws(s: Settings) -> str:
    """Atlas names AWS regions in upper snake case (``AP_NORTHEAST_1`` is ``ap-northeast-1``)."""
    return s.atlas.region.lower().replace("_", "-")


def public_subnet_prefix(s: Settings) -> int:
    from components.cidr import plan_subnets

    return ipaddress.IPv4Network(plan_subnets(s.network.cidr, s.network.az_count).public[0]).prefixlen


def whole_internet(cidrs: Iterable[str]) -> list[str]:
    return [cidr for cidr in cidrs if ipaddress.ip_network(cidr).prefixlen == 0]


def pooler(s: Settings) -> tuple[int, int, str]:
    """Supavisor's client limit for the API's pool mode, the clients the settings add up to, and
    the limit in words."""
    supabase = s.supabase
    pool_size, max_clients = SUPABASE_POOLER_LIMITS[supabase.compute_size]
    clients = s.render.max_instances * supabase.connections_per_instance + supabase.other_clients
    if supabase.pool_mode == "session":
        return pool_size, clients, f"session mode admits only the pool size, {pool_size} clients"
    return max_clients, clients, f"transaction mode admits {max_clients} clients"
