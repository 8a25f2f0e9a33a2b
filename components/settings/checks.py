"""Rules across sections, run on validated settings before any resource is registered."""

from __future__ import annotations

import ipaddress
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from components.settings.cutover import CUTOVER_HOSTS, CUTOVER_PHASES, CUTOVER_STEPS, CutoverSettings
from components.settings.fields import (
    ATLAS_DEDICATED_TIERS,
    NAMESPACE,
    RDS_POSTGRES_INSTANCE_FAMILIES,
    SUPABASE_POOLER_LIMITS,
    is_rds_postgres_class,
)
from components.settings.root import Settings


def _cross_checks(settings: Settings) -> list[str]:
    """Rules that span sections or depend on the topology."""
    problems: list[str] = []
    topology = settings.topology
    key = f"{NAMESPACE}:"
    if topology == "commercial":
        if settings.network.az_count < 2:
            problems.append(
                f"{key}network.azCount: commercial needs at least 2 AZs (got {settings.network.az_count})"
            )
        if settings.network.nat == "none":
            problems.append(
                f"{key}network.nat: commercial keeps tasks in private subnets; 'none' is not allowed"
            )
        if settings.database.engine != "aurora-serverless-v2":
            problems.append(
                f"{key}database.engine: commercial runs 'aurora-serverless-v2' (got {settings.database.engine!r})"
            )
        if settings.database.min_capacity == 0:
            problems.append(
                f"{key}database.minCapacity: 0 (auto-pause) is not allowed for commercial: the first "
                "request after a pause waits ~15 s; use 0.5 or more"
            )
        if settings.database.reader_instances < 1:
            problems.append(
                f"{key}database.readerInstances: commercial needs a reader in a second AZ (got 0)"
            )
        if not settings.database.deletion_protection or settings.database.skip_final_snapshot:
            problems.append(
                f"{key}database: commercial data must keep deletionProtection on and skipFinalSnapshot off"
            )
        if settings.database.backup_retention_days < 7:
            problems.append(
                f"{key}database.backupRetentionDays: commercial keeps at least 7 days "
                f"(got {settings.database.backup_retention_days})"
            )
        if settings.compute.min_count < 2:
            problems.append(
                f"{key}compute.minCount: commercial needs at least 2 tasks for HA (got {settings.compute.min_count})"
            )
        if settings.schedule.enabled and settings.schedule.mode == "stop":
            problems.append(f"{key}schedule.mode: commercial runs 24/7; use 'scale-down', not 'stop'")
        if settings.schedule.enabled and settings.schedule.off_hours_min_count < 2:
            problems.append(
                f"{key}schedule.offHoursMinCount: commercial keeps at least 2 tasks at night for HA "
                f"(got {settings.schedule.off_hours_min_count})"
            )
        if settings.atlas.enabled and settings.atlas.tier not in ATLAS_DEDICATED_TIERS:
            problems.append(
                f"{key}atlas.tier: commercial needs a dedicated tier M10 or larger (got {settings.atlas.tier!r})"
            )
        if not settings.dns.domain:
            problems.append(
                f"{key}dns.domain: commercial serves its own domain over HTTPS end to end (CloudFront's "
                "default certificate still allows TLSv1 and the ALB would be reached over plain HTTP); "
                "set it to an existing Route 53 public zone"
            )
        if settings.edge.cloudfront and settings.edge.certificate_arn and not settings.dns.domain:
            problems.append(f"{key}edge.certificateArn: needs {key}dns.domain for the CloudFront aliases")
    moving_tag = settings.compute.image is None and settings.compute.image_tag == "latest"
    if settings.on_aws and settings.storage.ecr_immutable_tags and moving_tag:
        problems.append(
            f"{key}compute.imageTag: 'latest' cannot be pushed twice to an immutable ECR repository; "
            f"pin a release tag (e.g. the git SHA) or set {key}storage.ecrImmutableTags to false"
        )
    problems.extend(_cutover_problems(settings))
    atlas = settings.atlas
    if (
        settings.on_aws
        and settings.network.nat == "none"
        and atlas.enabled
        and atlas.connectivity == "public"
        and not atlas.access_cidrs
    ):
        problems.append(
            f"{key}atlas.accessCidrs: with {key}network.nat 'none' the tasks' public addresses change with "
            "every task, so Atlas' access list cannot name them; use nat 'instance' (fixed addresses), "
            "connectivity 'private-link' (dedicated tiers) or list accessCidrs"
        )
    if (
        settings.on_aws
        and atlas.enabled
        and atlas.connectivity == "peering"
        and settings.network.nat == "none"
    ):
        problems.append(
            f"{key}atlas.connectivity: 'peering' routes Atlas' block from the private subnets only, but with "
            f"{key}network.nat 'none' the tasks run in the public ones; use a NAT ('instance', 'single', "
            "'per-az') or connectivity 'private-link'"
        )
    if settings.on_aws and atlas.enabled and atlas.connectivity == "peering":
        atlas_block, vpc_block = (
            ipaddress.IPv4Network(atlas.peering_cidr),
            ipaddress.IPv4Network(settings.network.cidr),
        )
        if atlas_block.overlaps(vpc_block):
            problems.append(
                f"{key}atlas.peeringCidr: {atlas.peering_cidr} overlaps {key}network.cidr "
                f"{settings.network.cidr}; peered networks need disjoint ranges, so choose an Atlas block "
                "outside the VPC's"
            )
    if topology == "pre-commercial":
        problems.extend(_pre_commercial_problems(settings))
        if settings.vercel.plan == "hobby":
            problems.append(
                f"{key}vercel.plan: 'hobby' forbids commercial use (Vercel's fair-use terms); "
                "pre-commercial serves real users, so use 'pro' or 'enterprise'"
            )
        if settings.atlas.enabled and settings.atlas.tier not in ("M0", "FLEX"):
            problems.append(
                f"{key}atlas.tier: pre-commercial uses the free M0 or FLEX tier (got {settings.atlas.tier!r})"
            )
    scale_down = settings.on_aws and settings.schedule.enabled and settings.schedule.mode == "scale-down"
    if scale_down and settings.schedule.off_hours_min_count > settings.compute.min_count:
        problems.append(
            f"{key}schedule.offHoursMinCount: {settings.schedule.off_hours_min_count} is above "
            f"{key}compute.minCount {settings.compute.min_count}, the daytime floor; the off-hours "
            "floor must not be higher (equal: no schedule is needed and none is made)"
        )
    return problems


@dataclass(frozen=True)
class CrossCheck:
    """One rule over the validated sections: where ``refuses`` holds, ``platform:<key>`` is
    reported with ``message``. Every row runs before any resource is registered."""

    key: str
    refuses: Callable[[Settings], bool]
    message: Callable[[Settings], str]


def _atlas_region_as_aws(settings: Settings) -> str:
    """Atlas names AWS regions in upper snake case (``AP_NORTHEAST_1`` is ``ap-northeast-1``)."""
    return settings.atlas.region.lower().replace("_", "-")


def _joins_atlas_to_the_vpc(settings: Settings) -> bool:
    return settings.on_aws and settings.atlas.enabled and settings.atlas.connectivity != "public"


def _public_subnet_prefix(settings: Settings) -> int:
    from components.cidr import plan_subnets

    return ipaddress.IPv4Network(
        plan_subnets(settings.network.cidr, settings.network.az_count).public[0]
    ).prefixlen


# An Application Load Balancer's subnets need "at least a /27 bitmask and at least 8 free IP
# addresses" (Elastic Load Balancing, "Subnets for your Application Load Balancer").
ALB_SUBNET_MAX_PREFIX = 27


# Ports the tasks may already reach on the internet, where EC2 refuses a second rule with the
# same protocol, port and peer: HTTPS, and MongoDB while Atlas is reached over the internet.
_TASK_INTERNET_PORTS = (443, 27017)

CROSS_CHECKS: tuple[CrossCheck, ...] = (
    CrossCheck(
        "atlas.region",
        lambda s: _joins_atlas_to_the_vpc(s) and _atlas_region_as_aws(s) != s.region,
        lambda s: (
            f"{s.atlas.region!r} is not the stack's aws:region {s.region!r}: connectivity "
            f"{s.atlas.connectivity!r} joins the cluster to this stack's VPC, which Atlas allows only "
            f"in the VPC's own region; use {s.region.upper().replace('-', '_')!r} or connectivity 'public'"
        ),
    ),
    CrossCheck(
        "network.cidr",
        lambda s: s.on_aws and _public_subnet_prefix(s) > ALB_SUBNET_MAX_PREFIX,
        lambda s: (
            f"{s.network.cidr} leaves public subnets of /{_public_subnet_prefix(s)}, but the load "
            f"balancer's subnets need /{ALB_SUBNET_MAX_PREFIX} or larger; use a /"
            f"{ALB_SUBNET_MAX_PREFIX - 4} or larger block"
        ),
    ),
    CrossCheck(
        "database.instanceClass",
        lambda s: (
            s.on_aws
            and s.database.engine == "rds-postgres"
            and not is_rds_postgres_class(s.database.instance_class)
        ),
        lambda s: (
            f"{s.database.instance_class!r} is not an RDS for PostgreSQL instance class; families: "
            f"{', '.join(f'db.{f}' for f in RDS_POSTGRES_INSTANCE_FAMILIES)} (e.g. db.t4g.micro, db.m7g.large)"
        ),
    ),
    CrossCheck(
        "cutover.legacyDatabasePort",
        lambda s: (
            s.on_aws and s.cutover.legacy_data and s.cutover.legacy_database_port in _TASK_INTERNET_PORTS
        ),
        lambda s: (
            f"{s.cutover.legacy_database_port} is a port the tasks already reach on the internet "
            f"({', '.join(map(str, _TASK_INTERNET_PORTS))}); EC2 refuses the duplicate rule"
        ),
    ),
)


def _table_problems(settings: Settings) -> list[str]:
    return [
        f"{NAMESPACE}:{check.key}: {check.message(settings)}"
        for check in CROSS_CHECKS
        if check.refuses(settings)
    ]


def _pre_commercial_problems(settings: Settings) -> list[str]:
    """The managed platforms: the Vercel team, the API's domain, the Supabase pooler's limits and
    the backups' AWS region."""
    key = f"{NAMESPACE}:"
    problems: list[str] = []
    if settings.vercel.team_id is None:
        problems.append(
            f"{key}vercel.teamId: required for pre-commercial: without it Vercel creates the project in "
            "the token's personal scope, which is the Hobby plan (Pro is a team plan); set the team's "
            "id (team_..., Vercel > Team Settings > General)"
        )
    if settings.render.custom_domain and not settings.dns.domain:
        problems.append(
            f"{key}render.customDomain: true needs {key}dns.domain (the API would be served at "
            f"{settings.dns.api_subdomain}.<domain>); set the domain or turn customDomain off"
        )
    if settings.backup.enabled and settings.region is None:
        problems.append(
            f"aws:region: required when {key}backup.enabled is true: the backups go to an S3 bucket "
            "in the team's AWS account (ap-northeast-1 keeps them in Tokyo, away from the Singapore "
            f"databases); set it, or turn {key}backup.enabled off"
        )
    supabase, render = settings.supabase, settings.render
    if supabase.plan == "free" and supabase.compute_size != "nano":
        problems.append(
            f"{key}supabase.computeSize: the free plan runs on 'nano' only (got {supabase.compute_size!r}); "
            "use 'nano' or plan 'pro'"
        )
    pool_size, max_clients = SUPABASE_POOLER_LIMITS[supabase.compute_size]
    limit = pool_size if supabase.pool_mode == "session" else max_clients
    clients = render.max_instances * supabase.connections_per_instance + supabase.other_clients
    if clients > limit:
        what = (
            f"session mode admits only the pool size, {pool_size} clients"
            if supabase.pool_mode == "session"
            else f"transaction mode admits {max_clients} clients"
        )
        problems.append(
            f"{key}supabase.poolMode: {render.max_instances} API instances (render.maxInstances) x "
            f"{supabase.connections_per_instance} connections (supabase.connectionsPerInstance) + "
            f"{supabase.other_clients} other clients (supabase.otherClients) = {clients}, but on "
            f"{supabase.compute_size!r} compute {what}; use poolMode 'transaction', fewer connections "
            "per instance or a larger supabase.computeSize"
        )
    return problems


def _cutover_problems(settings: Settings) -> list[str]:
    """``platform:cutover``: each key only in the phases that use it, so that no combination serves
    users from two databases (the canary runs both sides on the pre-commercial data)."""
    cutover, key = settings.cutover, f"{NAMESPACE}:cutover"
    phase = cutover.phase
    problems = [
        f"{key}.hosts.{name}: not a name the cut-over moves; allowed: {list(CUTOVER_HOSTS)}"
        for name in sorted(set(cutover.hosts) - set(CUTOVER_HOSTS))
    ]
    if phase != "off":
        missing = [
            name
            for name, ok in (
                (f"{NAMESPACE}:dns.domain", settings.dns.domain),
                (f"{NAMESPACE}:edge.cloudfront", settings.edge.cloudfront),
            )
            if not ok
        ]
        if missing:
            problems.append(
                f"{key}.phase: {phase!r} needs {', '.join(missing)} (the names CloudFront serves)"
            )
    if phase == "canary":
        own_names = {f"{settings.dns.api_subdomain}.{settings.dns.domain}"}
        for name in CUTOVER_HOSTS:
            host = cutover.hosts.get(name)
            if host is None:
                problems.append(
                    f"{key}.hosts.{name}: required in phase 'canary': legacyHost (the pre-commercial "
                    "host) and awsWeight (0-100)"
                )
            elif host.legacy_host in own_names:
                problems.append(
                    f"{key}.hosts.{name}.legacyHost: {host.legacy_host} is the cut-over's own name; "
                    "use the pre-commercial service's host (e.g. platform-api.onrender.com)"
                )
        problems.extend(_legacy_data_problems(settings))
        return problems
    # Outside the canary nothing splits a name and the API uses this stack's own databases.
    canary_only = [
        ("hosts", bool(cutover.hosts)),
        ("legacyDatabaseUrl", cutover.legacy_database_url is not None),
        ("legacyMongodbUri", cutover.legacy_mongodb_uri is not None),
        ("legacyDatabasePort", "legacy_database_port" in cutover.model_fields_set),
    ]
    problems.extend(
        f"{key}.{name}: only phase 'canary' uses it (phase is {phase!r}); remove it"
        for name, present in canary_only
        if present
    )
    if phase == "done" and "ttl_seconds" in cutover.model_fields_set:
        problems.append(f"{key}.ttlSeconds: phase 'done' serves alias records, which have no TTL; remove it")
    return problems


def _legacy_data_problems(settings: Settings) -> list[str]:
    """Phase ``canary``: the API on AWS uses the pre-commercial databases."""
    cutover, key = settings.cutover, f"{NAMESPACE}:cutover"
    problems: list[str] = []
    needed = [("legacyDatabaseUrl", cutover.legacy_database_url)]
    if settings.atlas.enabled:
        needed.append(("legacyMongodbUri", cutover.legacy_mongodb_uri))
    elif cutover.legacy_mongodb_uri is not None:
        problems.append(
            f"{key}.legacyMongodbUri: {NAMESPACE}:atlas.enabled is false, so the API gets no MongoDB "
            "on AWS; remove it"
        )
    for name, value in needed:
        if value is None:
            problems.append(
                f"{key}.{name}: required in phase 'canary' (both sides must write to the same "
                f"databases); set it as a secret: `pulumi config set --path --secret {key}.{name} "
                "<connection string>`"
            )
    if cutover.legacy_database_url is not None:
        parts = urllib.parse.urlsplit(cutover.legacy_database_url.get_secret_value())
        port = parts.port or 5432  # libpq's default
        if port != cutover.legacy_database_port:
            problems.append(
                f"{key}.legacyDatabasePort: legacyDatabaseUrl connects to port {port}, but the tasks "
                f"may only reach port {cutover.legacy_database_port}; make them agree"
            )
    return problems


def cutover_transition_problems(cutover: CutoverSettings, deployed: str | None) -> list[str]:
    """Whether ``cutover.phase`` may follow ``deployed``, the phase the zone records for the stack
    (``None``: nothing recorded, a stack not yet deployed). Run before any resource is registered."""
    key, phase, rollback = f"{NAMESPACE}:cutover", cutover.phase, cutover.rollback_from
    order = CUTOVER_PHASES.index
    if deployed is None or phase == deployed or order(phase) > order(deployed):
        problems = []
        if rollback is not None:
            recorded = f"is in phase {deployed!r}" if deployed else "has no phase recorded yet"
            problems.append(
                f"{key}.rollbackFrom: {rollback!r}, but the stack {recorded} and {key}.phase "
                f"{phase!r} is no step back; remove it"
            )
        if deployed is not None and phase != deployed and (deployed, phase) not in CUTOVER_STEPS:
            allowed = sorted(to for start, to in CUTOVER_STEPS if start == deployed)
            problems.append(
                f"{key}.phase: {phase!r} cannot follow {deployed!r}, the phase the stack is in; "
                f"next is {' or '.join(repr(a) for a in allowed)} (docs/migration.md)"
            )
        return problems
    if deployed == "done":
        return [
            f"{key}.phase: {phase!r} cannot follow 'done': its alias A/AAAA records cannot become "
            "CNAMEs in one `pulumi up` (Route 53 refuses a CNAME beside other records of its name)"
        ]
    if rollback != deployed:
        risk = (
            "the writes made since the data switch would stay behind in this stack's databases"
            if order(deployed) >= order("data-switched")
            else "CloudFront would take every lookup, on this stack's own (empty) databases"
        )
        return [
            f"{key}.phase: {phase!r} is a step back from {deployed!r}, the phase the stack is in: "
            f"{risk}. To do it anyway, also set {key}.rollbackFrom to {deployed!r}"
        ]
    return []


def cross_check_problems(settings: Settings) -> list[str]:
    """Every cross-section problem of ``settings``, each naming its key."""
    return _cross_checks(settings) + _table_problems(settings)
