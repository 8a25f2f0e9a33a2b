"""Rules across sections: one table, ``CROSS_CHECKS``, run on validated settings before any
resource is registered. Each row names the key it reports as written in the stack file
(``platform:database.minCapacity``, ``aws:region``; ``stack`` for the stack's name), the
topologies it applies to, the condition that refuses the settings, and the message: what is wrong
and what is allowed. A problem a user can cause from config is a row here or a field or section
validator; the components only assert things about their own arguments. The README lists the table
(``tools/config_reference.py --write``). ``cutover_transition_problems`` is the one rule outside
it: it needs the phase the stack's Route 53 zone records, looked up at run time. The rows of
``platform:services`` and of the pre-commercial platforms live in ``checks_services`` and
``checks_managed`` and take their places in the table here; the row type is ``cross_check``.
"""

from __future__ import annotations

import ipaddress

from components.settings.checks_managed import MANAGED_CHECKS
from components.settings.checks_services import SERVICE_CHECKS
from components.settings.cross_check import COMMERCIAL, PRE_COMMERCIAL, CrossCheck
from components.settings.cutover import CUTOVER_HOSTS, CUTOVER_PHASES, CUTOVER_STEPS, CutoverSettings
from components.settings.derived import (
    MAX_BUCKET_NAME,
    MAX_ROLE_NAME,
    RENAME,
    atlas_region_as_aws,
    bad_bucket_name,
    bad_sentry_slug,
    cutover_needs,
    long_role_name,
    peered,
    public_subnet_prefix,
    served_name_of,
    served_services,
    shared_legacy_host,
    vercel_target_unprobed,
    whole_internet,
)
from components.settings.fields import (
    ALB_SUBNET_MAX_PREFIX,
    ATLAS_DEDICATED_TIERS,
    AWS_TOPOLOGIES,
    NAMESPACE,
    RDS_POSTGRES_INSTANCE_FAMILIES,
    TASK_INTERNET_PORTS,
    is_rds_postgres_class,
)
from components.settings.root import Settings


def cross_check_problems(settings: Settings) -> list[str]:
    """Every row's problems with ``settings``, in the table's order."""
    return [problem for check in CROSS_CHECKS for problem in check.problems(settings)]


# Messages more than one row uses.
_REQUIRED_IN_CANARY = (
    "required in phase 'canary' (both sides must write to the same databases); set it as a secret: "
    "`pulumi config set --path --secret platform:cutover.{item} <connection string>`"
)

_INTERNET_PORTS = ", ".join(map(str, TASK_INTERNET_PORTS))


# ---------------------------------------------------------------------------------------------
# The table, in the order problems are reported

CROSS_CHECKS: tuple[CrossCheck, ...] = (
    # Commercial: highly available, its data protected, its own domain over HTTPS.
    CrossCheck(
        "platform:network.nat",
        "not 'none': the tasks stay in private subnets",
        lambda s: s.network.nat == "none",
        "commercial keeps tasks in private subnets; 'none' is not allowed",
        COMMERCIAL,
    ),
    CrossCheck(
        "platform:database.engine",
        "'aurora-serverless-v2'",
        lambda s: s.database.engine != "aurora-serverless-v2",
        "commercial runs 'aurora-serverless-v2' (got {s.database.engine!r})",
        COMMERCIAL,
    ),
    CrossCheck(
        "platform:database.minCapacity",
        "not 0 (auto-pause)",
        lambda s: s.database.min_capacity == 0,
        "0 (auto-pause) is not allowed for commercial: the first request after a pause waits ~15 s; "
        "use 0.5 or more",
        COMMERCIAL,
    ),
    CrossCheck(
        "platform:database.readerInstances",
        "at least 1 reader",
        lambda s: s.database.reader_instances < 1,
        "commercial needs a reader in a second AZ (got 0)",
        COMMERCIAL,
    ),
    CrossCheck(
        "platform:database",
        "deletionProtection on and skipFinalSnapshot off",
        lambda s: not s.database.deletion_protection or s.database.skip_final_snapshot,
        "commercial data must keep deletionProtection on and skipFinalSnapshot off",
        COMMERCIAL,
    ),
    CrossCheck(
        "platform:database.backupRetentionDays",
        "at least 7 days",
        lambda s: s.database.backup_retention_days < 7,
        "commercial keeps at least 7 days (got {s.database.backup_retention_days})",
        COMMERCIAL,
    ),
    CrossCheck(
        "platform:services.<name>.minCount",
        "at least 2 tasks per service",
        lambda s, name: s.services[name].min_count < 2,
        lambda s, name: f"commercial needs at least 2 tasks for HA (got {s.services[name].min_count})",
        COMMERCIAL,
        each=lambda s: s.services,
    ),
    CrossCheck(
        "platform:schedule.mode",
        "not 'stop': commercial runs around the clock",
        lambda s: s.schedule.enabled and s.schedule.mode == "stop",
        "commercial runs 24/7; use 'scale-down', not 'stop'",
        COMMERCIAL,
    ),
    CrossCheck(
        "platform:schedule.offHoursMinCount",
        "at least 2 tasks at night",
        lambda s: s.schedule.enabled and s.schedule.off_hours_min_count < 2,
        "commercial keeps at least 2 tasks at night for HA (got {s.schedule.off_hours_min_count})",
        COMMERCIAL,
    ),
    CrossCheck(
        "platform:atlas.tier",
        "a dedicated tier (M10 or larger)",
        lambda s: s.atlas.enabled and s.atlas.tier not in ATLAS_DEDICATED_TIERS,
        "commercial needs a dedicated tier M10 or larger (got {s.atlas.tier!r})",
        COMMERCIAL,
    ),
    CrossCheck(
        "platform:dns.domain",
        "set: commercial serves HTTPS end to end on its own domain",
        lambda s: not s.dns.domain,
        "commercial serves its own domain over HTTPS end to end (CloudFront's default certificate "
        "still allows TLSv1 and the ALB would be reached over plain HTTP); set it to an existing "
        "Route 53 public zone",
        COMMERCIAL,
    ),
    # AWS: the edge, the image, the cut-over.
    CrossCheck(
        "platform:edge.certificateArn",
        "needs platform:dns.domain (the CloudFront aliases)",
        lambda s: s.edge.cloudfront and bool(s.edge.certificate_arn) and not s.dns.domain,
        "needs platform:dns.domain for the CloudFront aliases",
        AWS_TOPOLOGIES,
    ),
    CrossCheck(
        "platform:services.<name>.imageTag",
        "not 'latest' in an immutable ECR repository",
        lambda s, name: (
            s.storage.ecr_immutable_tags
            and s.services[name].image is None
            and s.services[name].image_tag == "latest"
        ),
        "'latest' cannot be pushed twice to an immutable ECR repository; pin a release tag (e.g. the "
        "git SHA) or set platform:storage.ecrImmutableTags to false",
        AWS_TOPOLOGIES,
        each=lambda s: s.services,
    ),
    *SERVICE_CHECKS,
    CrossCheck(
        "platform:cutover.hosts.<host>",
        f"only the names the cut-over moves ({', '.join(CUTOVER_HOSTS)})",
        lambda s, host: host not in CUTOVER_HOSTS,
        f"not a name the cut-over moves; allowed: {list(CUTOVER_HOSTS)}",
        AWS_TOPOLOGIES,
        each=lambda s: sorted(s.cutover.hosts),
    ),
    CrossCheck(
        "platform:cutover.phase",
        "outside phase 'off': platform:dns.domain and platform:edge.cloudfront (the names CloudFront serves)",
        lambda s: s.cutover.phase != "off" and bool(cutover_needs(s)),
        lambda s: f"{s.cutover.phase!r} needs {', '.join(cutover_needs(s))} (the names CloudFront serves)",
        AWS_TOPOLOGIES,
    ),
    CrossCheck(
        "platform:cutover.hosts.<host>",
        "phase 'canary': set for every name the cut-over moves that a service is served at",
        lambda s, host: s.cutover.legacy_data and host not in s.cutover.hosts,
        "required in phase 'canary': legacyHost (the pre-commercial host) and awsWeight (0-100)",
        AWS_TOPOLOGIES,
        each=lambda s: [host for host in CUTOVER_HOSTS if host in served_services(s)],
    ),
    # One name is served from one place at a time: from here (CloudFront) or from its own
    # pre-commercial service, never by the records of another name this stack serves.
    CrossCheck(
        "platform:cutover.hosts.<host>.legacyHost",
        "phase 'canary': not a name the cut-over serves (its own or another host's)",
        lambda s, host: (
            s.cutover.legacy_data
            and host in s.cutover.hosts
            and served_name_of(s, s.cutover.hosts[host].legacy_host) is not None
        ),
        lambda s, host: (
            f"{s.cutover.hosts[host].legacy_host} is "
            + (
                "the cut-over's own name"
                if served_name_of(s, s.cutover.hosts[host].legacy_host) == host
                else f"the name of cut-over host {served_name_of(s, s.cutover.hosts[host].legacy_host)!r}"
            )
            + ", which this stack's records serve; use the pre-commercial service's host (Render: "
            "platform-api.onrender.com; Vercel: the CNAME target it shows for the name)"
        ),
        AWS_TOPOLOGIES,
        each=lambda s: CUTOVER_HOSTS,
    ),
    CrossCheck(
        "platform:cutover.hosts.<host>.legacyHost",
        "phase 'canary': each host's own (no two names share a legacy host)",
        lambda s, host: s.cutover.legacy_data and shared_legacy_host(s, host) is not None,
        lambda s, host: (
            f"{s.cutover.hosts[host].legacy_host} is also hosts.{shared_legacy_host(s, host)}.legacyHost: "
            "each name's legacy share would reach the other's service; give each name its own "
            "pre-commercial host (api: Render's onrender.com host, web: Vercel's CNAME target)"
        ),
        AWS_TOPOLOGIES,
        each=lambda s: CUTOVER_HOSTS,
    ),
    CrossCheck(
        "platform:cutover.hosts.<host>.healthCheckHost",
        "phase 'canary': set when legacyHost is a Vercel CNAME target",
        lambda s, host: s.cutover.legacy_data and vercel_target_unprobed(s, host),
        lambda s, host: (
            f"required with legacyHost {s.cutover.hosts[host].legacy_host}: every Vercel project "
            "shares that target, so a health check naming it reaches no project, fails, and moves "
            "the name's whole share to CloudFront even at awsWeight 0; set a name Vercel serves the "
            "production deployment at, e.g. <projectName>.vercel.app"
        ),
        AWS_TOPOLOGIES,
        each=lambda s: CUTOVER_HOSTS,
    ),
    CrossCheck(
        "platform:cutover.hosts.<host>.healthCheckHost",
        "phase 'canary': not a name the cut-over serves",
        lambda s, host: (
            s.cutover.legacy_data
            and host in s.cutover.hosts
            and served_name_of(s, s.cutover.hosts[host].health_check_host) is not None
        ),
        lambda s, host: (
            f"{s.cutover.hosts[host].health_check_host} is answered by this stack's weighted records, "
            "so the check would probe CloudFront as often as the legacy side; use a name only the "
            "pre-commercial service answers (Render's onrender.com host, <projectName>.vercel.app)"
        ),
        AWS_TOPOLOGIES,
        each=lambda s: CUTOVER_HOSTS,
    ),
    CrossCheck(
        "platform:cutover.legacyMongodbUri",
        "phase 'canary': not set while platform:atlas.enabled is false",
        lambda s: s.cutover.legacy_data and not s.atlas.enabled and s.cutover.legacy_mongodb_uri is not None,
        "platform:atlas.enabled is false, so the API gets no MongoDB on AWS; remove it",
        AWS_TOPOLOGIES,
    ),
    CrossCheck(
        "platform:cutover.<key>",
        "phase 'canary': legacyDatabaseUrl, and legacyMongodbUri while platform:atlas.enabled (secrets)",
        lambda s, key: s.cutover.legacy_data and key not in s.cutover.canary_keys_set,
        _REQUIRED_IN_CANARY,
        AWS_TOPOLOGIES,
        each=lambda s: ["legacyDatabaseUrl", *(["legacyMongodbUri"] if s.atlas.enabled else [])],
    ),
    CrossCheck(
        "platform:cutover.legacyDatabasePort",
        "phase 'canary': the port legacyDatabaseUrl connects to",
        lambda s: (
            s.cutover.legacy_data
            and s.cutover.legacy_database_url_port not in (None, s.cutover.legacy_database_port)
        ),
        lambda s: (
            f"legacyDatabaseUrl connects to port {s.cutover.legacy_database_url_port}, but the tasks may only reach "
            f"port {s.cutover.legacy_database_port}; make them agree"
        ),
        AWS_TOPOLOGIES,
    ),
    CrossCheck(
        "platform:cutover.<key>",
        "outside phase 'canary': none of hosts, legacyDatabaseUrl, legacyMongodbUri, legacyDatabasePort",
        lambda s, key: not s.cutover.legacy_data,
        "only phase 'canary' uses it (phase is {s.cutover.phase!r}); remove it",
        AWS_TOPOLOGIES,
        each=lambda s: s.cutover.canary_keys_set,
    ),
    CrossCheck(
        "platform:cutover.ttlSeconds",
        "not set in phase 'done' (alias records have no TTL)",
        lambda s: s.cutover.phase == "done" and "ttl_seconds" in s.cutover.model_fields_set,
        "phase 'done' serves alias records, which have no TTL; remove it",
        AWS_TOPOLOGIES,
    ),
    # AWS: how the tasks reach Atlas.
    CrossCheck(
        "platform:atlas.accessCidrs",
        "set when platform:network.nat is 'none' and Atlas is public (the tasks' addresses change)",
        lambda s: (
            s.network.nat == "none"
            and s.atlas.enabled
            and s.atlas.connectivity == "public"
            and not s.atlas.access_cidrs
        ),
        "with platform:network.nat 'none' the tasks' public addresses change with every task, so "
        "Atlas' access list cannot name them; use nat 'instance' (fixed addresses), connectivity "
        "'private-link' (dedicated tiers) or list accessCidrs",
        AWS_TOPOLOGIES,
    ),
    CrossCheck(
        "platform:atlas.connectivity",
        "not 'peering' when platform:network.nat is 'none' (tasks in public subnets)",
        lambda s: peered(s) and s.network.nat == "none",
        "'peering' routes Atlas' block from the private subnets only, but with platform:network.nat "
        "'none' the tasks run in the public ones; use a NAT ('instance', 'single', 'per-az') or "
        "connectivity 'private-link'",
        AWS_TOPOLOGIES,
    ),
    CrossCheck(
        "platform:atlas.peeringCidr",
        "apart from platform:network.cidr when peered",
        lambda s: (
            peered(s)
            and ipaddress.IPv4Network(s.atlas.peering_cidr).overlaps(ipaddress.IPv4Network(s.network.cidr))
        ),
        "{s.atlas.peering_cidr} overlaps platform:network.cidr {s.network.cidr}; peered networks "
        "need disjoint ranges, so choose an Atlas block outside the VPC's",
        AWS_TOPOLOGIES,
    ),
    *MANAGED_CHECKS,
    # AWS: sizes, regions and ports the services would refuse halfway through an update.
    CrossCheck(
        "platform:schedule.offHoursMinCount",
        "in 'scale-down' mode, not above the daytime floor of a service that follows the schedule",
        lambda s, name: (
            s.schedule.enabled
            and s.schedule.mode == "scale-down"
            and s.services[name].schedule
            and s.schedule.off_hours_min_count > s.services[name].min_count
        ),
        lambda s, name: (
            f"{s.schedule.off_hours_min_count} is above platform:services.{name}.minCount "
            f"{s.services[name].min_count}, the daytime floor; the off-hours floor must not be higher "
            "(equal: no schedule is needed and none is made)"
        ),
        AWS_TOPOLOGIES,
        each=lambda s: s.services,
    ),
    CrossCheck(
        "platform:atlas.region",
        "aws:region when Atlas joins the VPC (peering, PrivateLink)",
        lambda s: s.atlas.enabled and s.atlas.connectivity != "public" and atlas_region_as_aws(s) != s.region,
        lambda s: (
            f"{s.atlas.region!r} is not the stack's aws:region {s.region!r}: connectivity "
            f"{s.atlas.connectivity!r} joins the cluster to this stack's VPC, which Atlas allows only "
            f"in the VPC's own region; use {s.region.upper().replace('-', '_')!r} or "
            "connectivity 'public'"
        ),
        AWS_TOPOLOGIES,
    ),
    CrossCheck(
        "platform:network.cidr",
        f"leaves public subnets of /{ALB_SUBNET_MAX_PREFIX} or larger (the load balancer's minimum)",
        lambda s: public_subnet_prefix(s) > ALB_SUBNET_MAX_PREFIX,
        lambda s: (
            f"{s.network.cidr} leaves public subnets of /{public_subnet_prefix(s)}, but the load "
            f"balancer's subnets need /{ALB_SUBNET_MAX_PREFIX} or larger; use a /"
            f"{ALB_SUBNET_MAX_PREFIX - 4} or larger block"
        ),
        AWS_TOPOLOGIES,
    ),
    CrossCheck(
        "platform:database.instanceClass",
        "an RDS for PostgreSQL instance class (engine 'rds-postgres')",
        lambda s: (
            s.database.engine == "rds-postgres" and not is_rds_postgres_class(s.database.instance_class)
        ),
        "{s.database.instance_class!r} is not an RDS for PostgreSQL instance class; families: "
        f"{', '.join(f'db.{f}' for f in RDS_POSTGRES_INSTANCE_FAMILIES)} (e.g. db.t4g.micro, db.m7g.large)",
        AWS_TOPOLOGIES,
    ),
    CrossCheck(
        "platform:cutover.legacyDatabasePort",
        f"phase 'canary': not a port the tasks already reach ({_INTERNET_PORTS})",
        lambda s: s.cutover.legacy_data and s.cutover.legacy_database_port in TASK_INTERNET_PORTS,
        "{s.cutover.legacy_database_port} is a port the tasks already reach on the internet "
        f"({_INTERNET_PORTS}); EC2 refuses the duplicate rule",
        AWS_TOPOLOGIES,
    ),
    # Atlas' access list never admits the whole internet (components/atlas.py refuses it too).
    CrossCheck(
        "platform:atlas.accessCidrs",
        "no block of prefix length 0 (the whole internet)",
        lambda s: s.atlas.enabled and bool(whole_internet(s.atlas.access_cidrs)),
        lambda s: (
            f"{whole_internet(s.atlas.access_cidrs)[0]} would open the cluster to the whole internet; "
            "list only the addresses that need it"
        ),
    ),
    CrossCheck(
        "platform:render.outboundCidrs",
        "no block of prefix length 0 (they go into Atlas' access list)",
        lambda s: s.atlas.enabled and bool(whole_internet(s.render.outbound_cidrs)),
        lambda s: (
            f"{whole_internet(s.render.outbound_cidrs)[0]} would open the Atlas cluster to the whole "
            "internet (these addresses go into its access list); list the outbound IPs Render shows "
            f"for {s.render.region}"
        ),
        PRE_COMMERCIAL,
    ),
    # The stack's name is part of physical names that AWS and Sentry limit (derived.py).
    CrossCheck(
        "stack",
        f"S3 bucket names made from it: at most {MAX_BUCKET_NAME} lower-case letters, digits and '-'",
        lambda s: bad_bucket_name(s) is not None,
        lambda s: (
            f"{s.stack!r} makes the S3 bucket name {bad_bucket_name(s)}, but S3 takes at most "
            f"{MAX_BUCKET_NAME} characters, lower-case letters, digits and '-' only; {RENAME}"
        ),
    ),
    CrossCheck(
        "stack",
        f"IAM role names made from it: at most {MAX_ROLE_NAME} characters",
        lambda s: long_role_name(s) is not None,
        lambda s: (
            f"{s.stack!r} is too long: the IAM role name {long_role_name(s)} exceeds {MAX_ROLE_NAME} "
            f"characters; {RENAME}"
        ),
        AWS_TOPOLOGIES,
    ),
    CrossCheck(
        "stack",
        "Sentry project slugs made from it: 1-50 lower-case letters, digits, '-' or '_'",
        lambda s: bad_sentry_slug(s) is not None,
        lambda s: (
            f"{s.stack!r} makes the Sentry project slug {bad_sentry_slug(s)!r}, but slugs are 1-50 "
            f"lower-case letters, digits, '-' or '_'; {RENAME}"
        ),
    ),
)


# ---------------------------------------------------------------------------------------------
# The one rule that needs a run-time fact


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
