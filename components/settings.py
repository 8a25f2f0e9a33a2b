"""Validated, typed settings: the only module that reads ``pulumi.Config``.

Each stack file selects a topology with ``platform:topology``; the topology's preset supplies
every default, and the stack file overrides individual keys with Pulumi's structured config::

    config:
      platform:topology: staging
      platform:compute:
        cpu: 512
        memory: 1024

Keys are camelCase in the stack file (``platform:compute.desiredCount``) and snake_case in
Python. Every problem is collected and reported at once, naming the key as it is written in
the stack file, the bad value and what is allowed, before a single resource is registered.
"""

from __future__ import annotations

import copy
import ipaddress
import re
import typing
import urllib.parse
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import pulumi
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

NAMESPACE = "platform"

Topology = Literal["staging", "pre-commercial", "commercial"]
TOPOLOGIES: tuple[str, ...] = ("staging", "pre-commercial", "commercial")
AWS_TOPOLOGIES: tuple[str, ...] = ("staging", "commercial")

# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
LOG_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
    2557, 2922, 3288, 3653,
)  # fmt: skip

# Fargate task sizes: cpu units -> allowed memory (MiB).
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}

INTERFACE_ENDPOINTS: tuple[str, ...] = ("ecr.api", "ecr.dkr", "logs", "ssm", "secretsmanager", "kms")
ATLAS_TIERS: tuple[str, ...] = ("M0", "FLEX", "M10", "M20", "M30", "M40", "M50", "M60")
ATLAS_DEDICATED_TIERS: tuple[str, ...] = ("M10", "M20", "M30", "M40", "M50", "M60")
RENDER_REGIONS: tuple[str, ...] = ("singapore", "oregon", "ohio", "virginia", "frankfurt")
RENDER_PLANS: tuple[str, ...] = (
    "starter", "standard", "pro", "pro_plus", "pro_max", "pro_ultra",
)  # fmt: skip
# Supavisor's limits per Supabase compute size: (pool size, max pooler clients). The pool size is
# the number of server connections Supavisor opens, shared by its session (5432) and transaction
# (6543) ports; session mode gives each client one of them for its whole connection, so at most
# pool-size clients connect in session mode, while transaction mode admits max-clients clients.
# Source: the defaults Supabase's dashboard applies (supabase/supabase apps/studio,
# POOLING_OPTIMIZATIONS, "matches for both Supavisor and PgBouncer"), the pooler client limits of
# https://supabase.com/docs/guides/platform/compute-add-ons, session mode capped at the pool size:
# https://github.com/supabase/supabase/discussions/22305, shared pool:
# https://supabase.com/docs/guides/database/connecting-to-postgres ("How does the default pool size work?").
SUPABASE_POOLER_LIMITS: dict[str, tuple[int, int]] = {
    "nano": (15, 200), "micro": (15, 200), "small": (15, 400), "medium": (15, 600),
    "large": (20, 800), "xl": (20, 1000), "2xl": (25, 1500), "4xl": (32, 3000),
    "8xl": (64, 6000), "12xl": (96, 9000), "16xl": (128, 12000),
}  # fmt: skip
SUPABASE_REGIONS: tuple[str, ...] = (
    "ap-northeast-1", "ap-northeast-2", "ap-southeast-1", "ap-southeast-2", "ap-south-1",
    "us-east-1", "us-west-1", "eu-west-1", "eu-west-2", "eu-central-1", "ca-central-1",
    "sa-east-1",
)  # fmt: skip


class SettingsError(pulumi.RunError):
    """Invalid stack configuration; raised before any resource is registered."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid stack configuration:\n" + "\n".join(f"  - {p}" for p in problems))


# ---------------------------------------------------------------------------------------------
# Reusable field types


def _check_retention(days: int) -> int:
    if days not in LOG_RETENTION_DAYS:
        raise ValueError(f"must be one of CloudWatch's retention periods {list(LOG_RETENTION_DAYS)}")
    return days


# RFC 1918: the private ranges an AWS VPC and an Atlas network container are carved from.
RFC1918_RANGES = tuple(
    ipaddress.IPv4Network(block) for block in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)
VPC_PREFIXES = (16, 24)
# Atlas' rule for an AWS network container (NetworkContainer.atlas_cidr_block): /21 to /24.
ATLAS_PEERING_PREFIXES = (21, 24)


def in_rfc1918(cidr: str) -> bool:
    """Whether the IPv4 block lies inside one of the RFC 1918 ranges."""
    network = ipaddress.IPv4Network(cidr)
    return any(network.subnet_of(block) for block in RFC1918_RANGES)


def _rfc1918_cidr(example: str, prefixes: tuple[int, int], whose_limits: str):
    """A validator for an RFC 1918 IPv4 block whose prefix length lies within ``prefixes``."""

    def check(cidr: str) -> str:
        try:
            network = ipaddress.IPv4Network(cidr, strict=True)
        except ValueError as error:
            raise ValueError(f"must be an IPv4 CIDR block such as {example} ({error})") from None
        if not in_rfc1918(str(network)):
            raise ValueError(f"must lie in an RFC 1918 range ({', '.join(map(str, RFC1918_RANGES))})")
        shortest, longest = prefixes
        if not shortest <= network.prefixlen <= longest:
            raise ValueError(f"must have a prefix length from /{shortest} to /{longest} ({whose_limits})")
        return str(network)

    return check


# Names that say their value is a secret (`*_SECRET*`, `*_TOKEN*`, `*PASSWORD*`, `*_KEY`): such a
# value belongs in SSM / the provider's secret store, never in a plain environment variable, where
# it lands in the task definition, the provider's API and the state in clear text.
_SECRET_LOOKING_NAME = re.compile(r"_SECRET|_TOKEN|PASSWORD|_KEY$")
_SECRET_LOOKING_ERROR = "secret_looking_name"


def _check_plain_environment(environment: dict[str, str]) -> dict[str, str]:
    secret_looking = sorted(name for name in environment if _SECRET_LOOKING_NAME.search(name.upper()))
    if secret_looking:
        # Its own error type, so that the problem never quotes the values (see _describe).
        raise PydanticCustomError(
            _SECRET_LOOKING_ERROR,
            "{names} look like secrets (names matching *_SECRET*, *_TOKEN*, *PASSWORD* or *_KEY); "
            "plain environment variables are stored and shown in clear text, so pass secrets "
            "through the stack's secret parameters instead",
            {"names": secret_looking},
        )
    return environment


PlainEnvironment = Annotated[dict[str, str], AfterValidator(_check_plain_environment)]


def _check_cidr(cidr: str) -> str:
    try:
        return str(ipaddress.ip_network(cidr, strict=True))
    except ValueError as error:
        raise ValueError(f"must be a CIDR block such as 203.0.113.10/32 ({error})") from None


def _check_hhmm(value: str) -> str:
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        raise ValueError("must be a 24-hour time HH:MM, such as 09:00")
    return value


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("must be an IANA time zone such as Asia/Tokyo") from None
    return value


def _check_email(value: str) -> str:
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}", value):
        raise ValueError("must be an e-mail address such as ops@example.com")
    return value


def _check_domain(value: str) -> str:
    label = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
    if not re.fullmatch(rf"({label}\.)+[a-z]{{2,63}}", value):
        raise ValueError("must be a lower-case DNS name such as example.com")
    return value


def _check_ecr_or_image(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9./_:@-]+", value) or value.startswith(("-", "/")):
        raise ValueError("must be a container image reference such as public.ecr.aws/org/api:1.2.3")
    return value


def _check_repository(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", value):
        raise ValueError("must be a GitHub repository as owner/name")
    return value


# Render cron expressions: five fields (minute hour day-of-month month day-of-week), evaluated in
# UTC (https://render.com/docs/cronjobs, "Schedule": "all day and time ranges use UTC"), with the
# usual `*`, lists, ranges and steps, and month and weekday names.
_CRON_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
)
_CRON_NAMES = {
    "month": ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
    "day of week": ("sun", "mon", "tue", "wed", "thu", "fri", "sat"),
}


def _cron_value(text: str, field: str, low: int, high: int) -> int:
    names = _CRON_NAMES.get(field, ())
    if text.lower() in names:
        return names.index(text.lower()) + (1 if field == "month" else 0)
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(f"{field} {text!r} is not a number from {low} to {high}")
    return int(text)


def _check_cron(value: str) -> str:
    parts = value.split()
    if len(parts) != len(_CRON_FIELDS):
        raise ValueError(
            "must be a five-field cron expression in UTC (minute hour day-of-month month day-of-week), "
            "such as '0 18 * * *' (03:00 in Tokyo)"
        )
    for part, (field, low, high) in zip(parts, _CRON_FIELDS, strict=True):
        for item in part.split(","):
            span, _, step = item.partition("/")
            if step and (not step.isdigit() or int(step) == 0):
                raise ValueError(f"{field} step {step!r} must be a positive number")
            if span == "*":
                continue
            first, _, last = span.partition("-")
            start = _cron_value(first, field, low, high)
            if last and _cron_value(last, field, low, high) < start:
                raise ValueError(f"{field} range {span!r} runs backwards")
    return value


# Connection strings carry passwords: their messages never quote the value, and _describe never
# prints the input of a SecretStr field.
POSTGRES_SCHEMES = ("postgresql", "postgres")
TLS_SSLMODES = ("require", "verify-ca", "verify-full")


def _url_parts(value: SecretStr) -> urllib.parse.SplitResult | None:
    try:
        parts = urllib.parse.urlsplit(value.get_secret_value())
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError:
        return None
    return parts


def _check_postgres_url(value: SecretStr) -> SecretStr:
    parts = _url_parts(value)
    if parts is None or parts.scheme not in POSTGRES_SCHEMES or not parts.hostname:
        raise ValueError(
            "must be a libpq URL such as postgresql://user:password@host:5432/postgres?sslmode=require "
            "(value not shown: it is a secret)"
        )
    sslmode = urllib.parse.parse_qs(parts.query).get("sslmode", [""])[-1]
    if sslmode not in TLS_SSLMODES:
        raise ValueError(
            f"must require TLS with sslmode={' or '.join(TLS_SSLMODES)}: it crosses the internet "
            "(value not shown: it is a secret)"
        )
    return value


def _check_mongodb_srv_uri(value: SecretStr) -> SecretStr:
    parts = _url_parts(value)
    if parts is None or parts.scheme != "mongodb+srv" or not parts.hostname:
        raise ValueError(
            "must be an Atlas SRV connection string such as mongodb+srv://user:password@cluster.mongodb.net/app "
            "(value not shown: it is a secret)"
        )
    query = {k.lower(): v[-1].lower() for k, v in urllib.parse.parse_qs(parts.query).items()}
    if "false" in (query.get("tls"), query.get("ssl")):
        raise ValueError("must not turn TLS off: it crosses the internet (value not shown: it is a secret)")
    return value


LogRetention = Annotated[int, AfterValidator(_check_retention)]
PrivateCidr = Annotated[
    str, AfterValidator(_rfc1918_cidr("10.0.0.0/16", VPC_PREFIXES, "the limits of an AWS VPC"))
]
Cidr = Annotated[str, AfterValidator(_check_cidr)]
AtlasPeeringCidr = Annotated[
    str,
    AfterValidator(
        _rfc1918_cidr("192.168.248.0/21", ATLAS_PEERING_PREFIXES, "Atlas' limits for an AWS container")
    ),
]
ClockTime = Annotated[str, AfterValidator(_check_hhmm)]
TimeZone = Annotated[str, AfterValidator(_check_timezone)]
Email = Annotated[str, AfterValidator(_check_email)]
DomainName = Annotated[str, AfterValidator(_check_domain)]
ImageRef = Annotated[str, AfterValidator(_check_ecr_or_image)]
Repository = Annotated[str, AfterValidator(_check_repository)]
CronSchedule = Annotated[str, AfterValidator(_check_cron)]
AtlasOrgId = Annotated[str, Field(pattern=r"^[0-9a-f]{24}$")]
PostgresUrl = Annotated[SecretStr, AfterValidator(_check_postgres_url)]
MongodbSrvUri = Annotated[SecretStr, AfterValidator(_check_mongodb_srv_uri)]


class _Section(BaseModel):
    """A config section: camelCase keys, unknown keys rejected, immutable once loaded."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        validate_default=True,
        use_attribute_docstrings=True,  # the docstrings below are the config reference
    )


# ---------------------------------------------------------------------------------------------
# Sections


class NetworkSettings(_Section):
    """``platform:network``: the VPC and how private subnets reach the internet."""

    cidr: PrivateCidr = "10.0.0.0/16"
    """VPC CIDR block, private, /16 to /24."""
    az_count: int = Field(2, ge=2, le=4)
    """Availability zones to spread subnets over (looked up from the region, never hard-coded)."""
    nat: Literal["none", "single", "per-az", "instance"] = "single"
    """How private subnets reach the internet: ``none`` (tasks run in public subnets behind tight
    security groups; cheapest), ``single`` NAT gateway, one NAT gateway ``per-az``, or a
    fck-nat style NAT ``instance`` per AZ."""
    nat_instance_type: str = Field("t4g.nano", pattern=r"^t4g\.(nano|micro|small|medium)$")
    """Instance type of NAT instances (Graviton burstable; fck-nat publishes arm64 images)."""
    interface_endpoints: tuple[Literal[INTERFACE_ENDPOINTS], ...] = ()  # type: ignore[valid-type]
    """Interface VPC endpoints placed in the private subnets (the S3 gateway endpoint is always on)."""
    flow_logs: bool = True
    """VPC flow logs to CloudWatch Logs."""
    flow_log_retention_days: LogRetention = 30
    """Days the flow logs are kept."""

    @model_validator(mode="after")
    def _endpoints_unique(self) -> NetworkSettings:
        if len(set(self.interface_endpoints)) != len(self.interface_endpoints):
            raise ValueError(f"interfaceEndpoints lists a service twice: {list(self.interface_endpoints)}")
        return self


class DnsSettings(_Section):
    """``platform:dns``: the public domain. Without one, AWS stacks serve over the ALB's own name."""

    domain: DomainName | None = None
    """Apex domain of an existing Route 53 public hosted zone (e.g. ``example.com``)."""
    api_subdomain: str = Field("api", pattern=r"^[a-z0-9-]{1,63}$")
    """The API is served at ``<apiSubdomain>.<domain>``."""
    web_subdomain: str = Field("www", pattern=r"^[a-z0-9-]{1,63}$")
    """The web front end is served at ``<webSubdomain>.<domain>`` (pre-commercial: on Vercel)."""


# The cut-over's phases, in the only order a stack may take them (docs/migration.md).
CUTOVER_PHASES: tuple[str, ...] = ("off", "canary", "data-switched", "done")
CutoverPhase = Literal["off", "canary", "data-switched", "done"]
# Public names the cut-over moves, by service; the web's ``www`` joins with issue 11.
CUTOVER_HOSTS: tuple[str, ...] = ("api",)


class CutoverHost(_Section):
    """``platform:cutover.hosts.<host>``: one public name during the canary."""

    legacy_host: DomainName
    """Host name of the pre-commercial service, e.g. ``platform-api.onrender.com``."""
    aws_weight: int = Field(0, ge=0, le=100)
    """Percent of DNS answers that point at CloudFront (0: none yet, 100: all)."""


class CutoverSettings(_Section):
    """``platform:cutover``: moving ``api.<domain>`` from the pre-commercial API to AWS gradually.

    The name is always served by Route 53 records this stack owns, and ``phase`` says which:
    ``off`` (one weighted CNAME to CloudFront, the API on this stack's databases), ``canary``
    (weighted CNAMEs split the name between CloudFront and the pre-commercial host, the API on the
    pre-commercial databases), ``data-switched`` (CloudFront alone again, the API on this stack's
    databases after the copy), ``done`` (free alias A/AAAA records to CloudFront). Phases only move
    forward, one at a time (``off`` may go straight to ``done``); see docs/migration.md.
    """

    phase: CutoverPhase = "off"
    """``off``, ``canary``, ``data-switched`` or ``done``. Each ``pulumi up`` compares it with the
    phase the stack's Route 53 zone records (a ``_cutover.<host>`` TXT record) and refuses a skip
    or a step back (see ``rollbackFrom``)."""
    hosts: dict[str, CutoverHost] = Field(default_factory=dict)
    """``canary`` only: per public name (``api``), ``legacyHost`` (the pre-commercial host, e.g.
    ``platform-api.onrender.com``) and ``awsWeight`` (percent of DNS answers that get CloudFront,
    0-100, default 0)."""
    ttl_seconds: int = Field(60, ge=30, le=3600)
    """TTL of the weighted CNAMEs: short, so a step (or a step back) takes effect quickly. Alias
    records (phase ``done``) have none."""
    legacy_database_url: PostgresUrl | None = None
    """``canary`` only, required: the pre-commercial PostgreSQL URL (Supabase's session pooler,
    with ``sslmode=require``). A secret: ``pulumi config set --path --secret
    platform:cutover.legacyDatabaseUrl ...``."""
    legacy_mongodb_uri: MongodbSrvUri | None = None
    """``canary`` only, required while ``platform:atlas.enabled``: the pre-commercial Atlas M0
    ``mongodb+srv://`` URI. A secret: ``pulumi config set --path --secret
    platform:cutover.legacyMongodbUri ...``."""
    legacy_database_port: int = Field(5432, ge=1, le=65535)
    """``canary`` only: port of ``legacyDatabaseUrl`` the API tasks may reach on the internet
    (Supabase's pooler: 5432 session mode, as the pre-commercial API uses; 6543 transaction mode)."""
    rollback_from: CutoverPhase | None = None
    """Acknowledges one step back: set it to the phase the stack is in (as its zone records it)
    to move ``phase`` to an earlier one. Stepping back from ``data-switched`` leaves the writes
    made since the switch behind in this stack's databases; from ``canary`` to ``off``, CloudFront
    takes every lookup on this stack's own (empty) databases. Remove it after that ``pulumi up``."""

    @property
    def legacy_data(self) -> bool:
        """Whether the API on AWS uses the pre-commercial databases (the canary's overlap)."""
        return self.phase == "canary"


class SecuritySettings(_Section):
    """``platform:security``: the stack's KMS key and secrets."""

    kms_deletion_window_days: int = Field(30, ge=7, le=30)
    """Days a scheduled key deletion can still be cancelled."""
    permissions_boundary: str | None = Field(
        None, pattern=r"^(arn:aws:iam::\d{12}:policy/)?[A-Za-z0-9+=,.@_-]{1,128}$"
    )
    """IAM policy (name in this account, or ARN) set as the permissions boundary of every role the
    stack creates; the stack's deploy role may create no role without it. Unset:
    ``<project>-github-<stack>-boundary``, the one bootstrap/ creates for the stack's environment."""


class StorageSettings(_Section):
    """``platform:storage``: the image repository and the access-log bucket."""

    ecr_immutable_tags: bool = True
    """Refuse to overwrite an image tag (deploy by digest or unique tag)."""
    ecr_keep_images: int = Field(30, ge=1, le=1000)
    """Tagged images kept by the lifecycle policy; the newest 10 untagged ones are kept too."""
    access_log_expiry_days: int = Field(90, ge=1, le=3650)
    """Days ALB and CloudFront access logs are kept."""
    force_destroy_buckets: bool = False
    """Let ``pulumi destroy`` delete non-empty log buckets (staging convenience only)."""


def _fargate_sizes_text() -> str:
    return "; ".join(
        f"cpu {cpu}: memory {', '.join(str(m) for m in mems)}" for cpu, mems in FARGATE_SIZES.items()
    )


class ComputeSettings(_Section):
    """``platform:compute``: the API container on ECS Fargate behind the ALB."""

    image: ImageRef | None = None
    """Container image. Unset: this stack's ECR repository at ``imageTag``."""
    image_tag: str = Field("latest", pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
    """Tag deployed from this stack's ECR repository when ``image`` is unset."""
    container_port: int = Field(3000, ge=1, le=65535)
    """Port the NestJS API listens on."""
    health_check_path: str = Field("/health", pattern=r"^/[A-Za-z0-9/_.-]*$")
    """HTTP path the ALB and the container health check probe."""
    cpu: int = 256
    """Fargate task CPU units."""
    memory: int = 512
    """Fargate task memory (MiB); must pair with ``cpu``."""
    architecture: Literal["ARM64", "X86_64"] = "ARM64"
    """CPU architecture; Graviton (ARM64) is about 20% cheaper."""
    desired_count: int = Field(1, ge=0, le=100)
    """Tasks at deploy time (the autoscaler and schedules own it afterwards)."""
    min_count: int = Field(1, ge=0, le=100)
    """Fewest tasks the autoscaler keeps during business hours."""
    max_count: int = Field(2, ge=1, le=100)
    """Most tasks the autoscaler may run."""
    cpu_target_percent: int = Field(60, ge=10, le=90)
    """Target-tracking goal for average CPU."""
    requests_per_target: int | None = Field(None, ge=10, le=100000)
    """Target-tracking goal for ALB requests per task per minute; unset disables that policy."""
    spot: bool = False
    """Run extra tasks on Fargate Spot (the seed's "future" option)."""
    on_demand_base: int = Field(1, ge=0, le=100)
    """Tasks always on regular Fargate when ``spot`` is on."""
    spot_weight: int = Field(1, ge=1, le=1000)
    """Fargate Spot's share of tasks above the base (regular Fargate's weight is 1)."""
    container_insights: bool = False
    """CloudWatch Container Insights metrics for the cluster (billed per metric)."""
    log_retention_days: LogRetention = 30
    """Days the API's container logs are kept."""
    environment: PlainEnvironment = Field(default_factory=dict)
    """Plain, non-secret environment variables; secrets never go here."""
    alb_deletion_protection: bool = False
    """Refuse to delete the load balancer until this is turned off."""
    deployment_timeout_minutes: int = Field(20, ge=5, le=120)
    """`pulumi up` waits this long for the service to reach a steady state after a new deployment
    and fails past it; the deploy workflow then fails if the circuit breaker rolled it back."""

    @model_validator(mode="after")
    def _valid(self) -> ComputeSettings:
        if self.cpu not in FARGATE_SIZES:
            raise ValueError(f"cpu {self.cpu} is not a Fargate size; allowed pairs: {_fargate_sizes_text()}")
        if self.memory not in FARGATE_SIZES[self.cpu]:
            raise ValueError(
                f"cpu {self.cpu} with memory {self.memory} is not a valid Fargate pair; "
                f"cpu {self.cpu} allows memory {list(FARGATE_SIZES[self.cpu])}"
            )
        if self.min_count > self.max_count:
            raise ValueError(f"minCount {self.min_count} is above maxCount {self.max_count}")
        if self.spot and self.architecture == "ARM64":
            raise ValueError("spot needs architecture X86_64: Fargate Spot runs only X86_64 Linux tasks")
        if self.spot and self.on_demand_base < 1:
            raise ValueError("spot needs onDemandBase of at least 1 so one task never runs on Spot")
        reserved = {"DATABASE_URL", "MONGODB_URI", "SENTRY_DSN", "DD_API_KEY"}
        clash = sorted(reserved & self.environment.keys())
        if clash:
            raise ValueError(f"environment must not set {clash}: they are injected as secrets")
        return self


# The database stops this long after the tasks' night stop, once they have drained (deregistration
# delay 30 s + stop timeout 30 s, components/compute.py) and closed their connections.
DATABASE_STOP_DELAY_MINUTES = 15


def _check_holiday_country(code: str) -> str:
    supported = holidays.list_supported_countries()
    if code not in supported:
        two_letter = sorted(c for c in supported if len(c) == 2)
        raise ValueError(f"is not a country of the holidays library; allowed: {two_letter}")
    return code


def _check_closed_day(entry: str) -> str:
    match = re.fullmatch(r"(?:(\d{4})-)?(\d{2})-(\d{2})", entry)
    if match is None:
        raise ValueError("must be MM-DD (every year) or YYYY-MM-DD (once), e.g. 12-29 or 2027-05-06")
    year, month, day = match.groups()
    try:
        # 2024 is a leap year, so a recurring 02-29 is accepted (it closes leap years only).
        date(int(year or 2024), int(month), int(day))
    except ValueError as error:
        raise ValueError(f"is not a date ({error})") from None
    return entry


class ScheduleSettings(_Section):
    """``platform:schedule``: when the service runs.

    Staging (``mode: stop``) scales the service to zero and stops the database outside these
    hours. Commercial (``mode: scale-down``) lowers the task floor to ``offHoursMinCount``. A
    closed day (a public holiday of ``holidayCountry`` or one of ``closedDays``) has no hours:
    nothing starts, the floor stays low. See README "Business hours and the calendar".
    """

    enabled: bool = True
    """Follow business hours at all; off: the service runs around the clock at ``minCount``."""
    mode: Literal["stop", "scale-down"] = "stop"
    """``stop``: zero tasks and the database stopped off hours; ``scale-down``: fewer tasks."""
    timezone: TimeZone = "Asia/Tokyo"
    """IANA time zone the hours are read in."""
    start: ClockTime = "09:00"
    """Local time the working day starts; the service is up by then."""
    stop: ClockTime = "20:00"
    """Local time the working day ends."""
    weekdays: Literal["MON-FRI", "MON-SAT", "SUN-SAT"] = "MON-FRI"
    """Days of the week the service runs during ``start``-``stop``, closed days excepted."""
    warm_up_minutes: int = Field(15, ge=0, le=120)
    """How long before ``start`` the resources are started, so they are ready at ``start``."""
    off_hours_min_count: int = Field(1, ge=0, le=100)
    """``scale-down`` mode: task floor at night, at weekends and on closed days."""
    holiday_country: Annotated[str, AfterValidator(_check_holiday_country)] | None = "JP"
    """Country whose public holidays close the service (ISO 3166 code, the ``holidays`` library's
    calendar); null: only ``weekdays`` and ``closedDays`` decide."""
    closed_days: list[Annotated[str, AfterValidator(_check_closed_day)]] = Field(default_factory=list)
    """Extra closed days: ``MM-DD`` every year or ``YYYY-MM-DD`` once; e.g. the year-end break
    ``["12-29", "12-30", "12-31", "01-02", "01-03"]``."""
    horizon_months: int = Field(12, ge=1, le=24)
    """Calendar months of schedules generated ahead, from the first day of the current month; a
    `pulumi up` within that time renews them."""
    database_warm_up_minutes: int = Field(20, ge=0, le=120)
    """``stop`` mode: how much earlier than the tasks the database is started (it takes minutes
    to become available); it stops after the tasks."""

    @model_validator(mode="after")
    def _order(self) -> ScheduleSettings:
        if time.fromisoformat(self.start) >= time.fromisoformat(self.stop):
            raise ValueError(f"start {self.start} must be before stop {self.stop}")
        start, stop = (int(c[:2]) * 60 + int(c[3:]) for c in (self.start, self.stop))
        night = 24 * 60 - (stop - start)
        ahead = self.warm_up_minutes + self.database_warm_up_minutes + DATABASE_STOP_DELAY_MINUTES
        if ahead >= night:
            raise ValueError(
                f"the night from stop {self.stop} to start {self.start} ({night} min) is shorter than "
                f"warmUpMinutes {self.warm_up_minutes} + databaseWarmUpMinutes "
                f"{self.database_warm_up_minutes} + the database's {DATABASE_STOP_DELAY_MINUTES} min "
                "stop delay: the next start would fire before the database's stop"
            )
        return self


class EdgeSettings(_Section):
    """``platform:edge``: CloudFront and WAF in front of the ALB.

    The ALB refuses traffic that bypasses CloudFront: it becomes internal and CloudFront reaches it
    through a VPC origin, which also saves the ALB's public IPv4 addresses.
    """

    cloudfront: bool = False
    """Put CloudFront in front of the ALB (the ALB becomes internal, reached through a VPC origin)."""
    certificate_arn: str | None = Field(
        None, pattern=r"^arn:aws:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$"
    )
    """An existing ACM certificate for the CloudFront aliases; must be in us-east-1. Unset with a
    domain: one is requested in us-east-1 and validated through Route 53."""
    price_class: Literal["PriceClass_100", "PriceClass_200", "PriceClass_All"] = "PriceClass_200"
    """PriceClass_200 is the cheapest that includes Japan's edge locations."""
    cache_api: bool = False
    """Cache API responses at the edge (honours origin Cache-Control); off: nothing is cached."""
    waf: bool = False
    """Attach a WAF web ACL (AWS managed rules and a per-IP rate limit) to the distribution."""
    waf_rate_limit: int = Field(2000, ge=10, le=2_000_000_000)
    """Requests one IP may make in 5 minutes before the rate-based rule blocks it."""
    waf_allow_large_bodies: bool = False
    """Count, not block, request bodies over 8 KB (the Common rule set's SizeRestrictions_BODY);
    turn on if the API takes uploads or large JSON."""
    waf_log_retention_days: LogRetention = 90
    """Days WAF logs are kept."""

    @model_validator(mode="after")
    def _valid(self) -> EdgeSettings:
        if self.certificate_arn and ":us-east-1:" not in self.certificate_arn:
            raise ValueError(
                f"certificateArn {self.certificate_arn} is not in us-east-1; CloudFront only "
                "accepts ACM certificates from us-east-1"
            )
        if self.waf and not self.cloudfront:
            raise ValueError("waf needs cloudfront: the web ACL has CLOUDFRONT scope")
        return self


class DatabaseSettings(_Section):
    """``platform:database``: PostgreSQL on RDS (staging) or Aurora Serverless v2 (commercial)."""

    engine: Literal["rds-postgres", "aurora-serverless-v2"] = "rds-postgres"
    """``rds-postgres`` (one instance) or ``aurora-serverless-v2`` (writer and readers)."""
    engine_version: str = Field("17", pattern=r"^\d{2}(\.\d{1,2})?$")
    """PostgreSQL version. RDS takes a major version and follows AWS's minor upgrades; Aurora is a
    reviewed major.minor pin (e.g. ``17.7``): bump it to upgrade, in the maintenance window."""
    instance_class: str = Field("db.t4g.micro", pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$")
    """RDS instance class (``rds-postgres`` only)."""
    allocated_storage_gb: int = Field(20, ge=20, le=65536)
    """Initial gp3 storage of an ``rds-postgres`` instance."""
    max_allocated_storage_gb: int = Field(100, ge=20, le=65536)
    """Storage autoscaling ceiling (``rds-postgres``)."""
    multi_az: bool = False
    """Standby in a second AZ (``rds-postgres``; Aurora spreads instances instead)."""
    min_capacity: float = Field(0.5, ge=0, le=256)
    """Aurora Serverless v2 minimum ACUs (0 to 256 in steps of 0.5; 0 auto-pauses)."""
    max_capacity: float = Field(4, ge=1, le=256)
    """Aurora Serverless v2 maximum ACUs."""
    reader_instances: int = Field(1, ge=0, le=15)
    """Aurora readers, each in a different AZ from the writer."""
    database_name: str = Field("app", pattern=r"^[a-z][a-z0-9_]{0,62}$")
    """Database created at launch."""
    master_username: str = Field("app_admin", pattern=r"^[a-z][a-z0-9_]{0,15}$")
    """Master user; well-known names such as ``postgres`` are refused."""
    backup_retention_days: int = Field(7, ge=1, le=35)
    """Days of automated backups (point-in-time recovery window)."""
    deletion_protection: bool = True
    """The service refuses to delete the database."""
    skip_final_snapshot: bool = False
    """Delete without a final snapshot (staging only; commercial refuses it)."""
    performance_insights: bool = False
    """Performance Insights, encrypted with the stack's key (7 days are free)."""
    iam_auth: bool = False
    """Allow IAM database authentication besides passwords."""
    log_retention_days: LogRetention = 30
    """Days the exported PostgreSQL logs are kept."""

    @model_validator(mode="after")
    def _valid(self) -> DatabaseSettings:
        if self.engine == "aurora-serverless-v2" and "." not in self.engine_version:
            raise ValueError(
                f"engineVersion {self.engine_version} must be major.minor (e.g. 17.7) for Aurora"
            )
        for name, value in (("minCapacity", self.min_capacity), ("maxCapacity", self.max_capacity)):
            if (value * 2) != int(value * 2):
                raise ValueError(f"{name} {value} must be a multiple of 0.5 ACU")
        if self.min_capacity > self.max_capacity:
            raise ValueError(f"minCapacity {self.min_capacity} is above maxCapacity {self.max_capacity}")
        if self.max_allocated_storage_gb < self.allocated_storage_gb:
            raise ValueError(
                f"maxAllocatedStorageGb {self.max_allocated_storage_gb} is below "
                f"allocatedStorageGb {self.allocated_storage_gb}"
            )
        if self.master_username in {"postgres", "admin", "rdsadmin", "root"}:
            raise ValueError(
                f"masterUsername {self.master_username!r} is reserved or well known; pick another"
            )
        if self.master_username == "app_api":  # components/database.py APP_USERNAME
            raise ValueError("masterUsername 'app_api' is the API's own role; pick another")
        return self


class AtlasSettings(_Section):
    """``platform:atlas``: MongoDB Atlas project, cluster and database user."""

    enabled: bool = True
    """Build the Atlas project, cluster and user at all."""
    org_id: AtlasOrgId = "000000000000000000000000"
    """Atlas organisation id (24 hex characters). The committed placeholder must be replaced."""
    tier: Literal[ATLAS_TIERS] = "M0"  # type: ignore[valid-type]
    """M0 (free, shared), FLEX, or a dedicated tier M10 and up."""
    region: str = Field("AP_NORTHEAST_1", pattern=r"^[A-Z0-9_]+$")
    """Atlas region name for AWS (Tokyo is AP_NORTHEAST_1)."""
    mongo_version: Literal["7.0", "8.0"] = "8.0"
    """MongoDB major version of dedicated clusters; M0 and FLEX run the version Atlas picks."""
    database_name: str = Field("app", pattern=r"^[A-Za-z0-9_-]{1,63}$")
    """Database the application user may read and write."""
    access_cidrs: tuple[Cidr, ...] = ()
    """Extra source addresses allowed in the Atlas IP access list (e.g. a VPN)."""
    connectivity: Literal["public", "private-link", "peering"] = "public"
    """How the application reaches the cluster: ``public`` (its egress addresses in the IP access
    list; the only choice for M0 and FLEX), ``private-link`` (an AWS interface endpoint in every
    AZ, billed by the hour) or ``peering`` (VPC peering with Atlas' network container, no hourly
    fee). The last two need a dedicated tier and keep MongoDB traffic off the internet."""
    peering_cidr: AtlasPeeringCidr = "192.168.248.0/21"
    """Atlas' own block for ``connectivity: peering``: RFC 1918, /21 to /24, apart from
    ``network.cidr``. Atlas locks it once the project has a dedicated cluster or a peering."""
    cloud_backup: bool = False
    """Atlas cloud backups (dedicated tiers)."""
    pit_restore: bool = False
    """Continuous backup for point-in-time restore (needs ``cloudBackup``)."""
    termination_protection: bool = False
    """Atlas refuses to terminate the cluster until this is turned off."""

    @model_validator(mode="after")
    def _valid(self) -> AtlasSettings:
        if "0.0.0.0/0" in self.access_cidrs:
            raise ValueError("accessCidrs must not contain 0.0.0.0/0 (the whole internet)")
        dedicated = self.tier in ATLAS_DEDICATED_TIERS
        for name, on in (
            (f"connectivity {self.connectivity!r}", self.connectivity != "public"),
            ("cloudBackup", self.cloud_backup),
            ("pitRestore", self.pit_restore),
        ):
            if on and not dedicated:
                raise ValueError(
                    f"{name} needs a dedicated tier ({', '.join(ATLAS_DEDICATED_TIERS)}), not {self.tier}"
                )
        if self.pit_restore and not self.cloud_backup:
            raise ValueError("pitRestore needs cloudBackup")
        return self


class MonitoringSettings(_Section):
    """``platform:monitoring``: alarms, notifications and the cost budget."""

    alarm_email: Email | None = None
    """Address subscribed to the alarm topic (confirm the subscription e-mail once)."""
    monthly_budget_usd: float = Field(70, gt=0, le=100000)
    """AWS Budgets alert threshold; the offline preview compares its estimate with it."""
    dashboard: bool = False
    """A CloudWatch dashboard of the service, load balancer, database and edge."""
    log_retention_days: LogRetention = 30
    """Days other log groups of the stack are kept."""


class SentrySettings(_Section):
    """``platform:sentry``: error tracking projects (pulumiverse-sentry)."""

    enabled: bool = True
    """Create Sentry projects and inject their DSNs as secrets."""
    organization: str = Field("platform", pattern=r"^[a-z0-9][a-z0-9_-]{0,49}$")
    """Sentry organisation slug."""
    team: str = Field("platform", pattern=r"^[a-z0-9][a-z0-9_-]{0,49}$")
    """Sentry team slug that owns the projects; its members get every alert by e-mail."""
    alerts: bool = True
    """Issue alerts per project: a new issue, a regression, and an event spike."""
    alert_frequency_minutes: int = Field(30, ge=5, le=43200)
    """Each alert fires at most once per issue in this many minutes (Sentry's action interval)."""
    spike_events_per_hour: int = Field(100, ge=1, le=1_000_000)
    """An issue with more events than this in one hour is a spike."""


# Warnings and errors only: Nest's logger prints ERROR/WARN/FATAL, pino writes "level":40/50/60,
# winston "level":"warn"/"error". A CloudWatch regex pattern (%...%) may not contain a double quote
# or parentheses, hence `.` for the quote (docs.aws.amazon.com/AmazonCloudWatch/latest/logs/
# regex-expressions.html: allowed symbols and operators).
DATADOG_API_LOGS_PATTERN = "%ERROR|WARN|FATAL|level.:[4-6]0|level.:.error|level.:.warn|level.:.fatal%"


class DatadogSettings(_Section):
    """``platform:datadog``: APM agent sidecar, AWS integration and monitors."""

    enabled: bool = False
    """Run the Datadog agent as a sidecar (APM, metrics) with its API key from SSM."""
    site: Literal[
        "ap1.datadoghq.com", "datadoghq.com", "us3.datadoghq.com", "us5.datadoghq.com",
        "datadoghq.eu", "ap2.datadoghq.com",
    ] = "ap1.datadoghq.com"  # fmt: skip
    """Datadog site; AP1 is in Japan."""
    aws_integration: bool = False
    """Register the stack's AWS account with Datadog through its read-only integration role,
    collecting only resources tagged ``stack: <this stack>``. One AWS account has one integration:
    exactly one stack per account sets this (commercial's preset; staging's leaves it off, and so
    must any other stack sharing the account: see README "Datadog")."""
    monitors: bool = False
    """Datadog monitors for API latency and error rate."""
    agent_image: ImageRef = "public.ecr.aws/datadog/agent:7"
    """Datadog agent image of the sidecar."""
    logs: bool = False
    """Ship the API's container logs and the database logs to Datadog (CloudWatch Logs subscription
    filters into Amazon Data Firehose; the API key from Secrets Manager). CloudWatch Logs stays the
    system of record."""
    api_logs_filter_pattern: str = Field(DATADOG_API_LOGS_PATTERN, max_length=1024)
    """CloudWatch Logs filter pattern of the API's lines sent to Datadog ("" sends every line);
    the default sends warnings and errors (Nest's text levels, pino's numeric and winston's named
    JSON levels). Every line stays in CloudWatch."""

    @model_validator(mode="after")
    def _valid(self) -> DatadogSettings:
        if self.logs and not self.enabled:
            raise ValueError("logs needs enabled: the log path uses the datadog:apiKey of an enabled Datadog")
        return self


class VercelSettings(_Section):
    """``platform:vercel``: the Next.js web front end (pre-commercial)."""

    plan: Literal["hobby", "pro", "enterprise"] = "pro"
    """Vercel plan of the team; Hobby forbids commercial use."""
    team_id: str | None = Field(None, pattern=r"^team_[A-Za-z0-9]+$")
    """Vercel team that owns the project (``team_...``, Team Settings > General). Required for
    pre-commercial: without it the project lands in the token's personal scope, which is Hobby
    (Pro is a team plan). Changing it replaces the project."""
    project_name: str = Field("platform-web", pattern=r"^[a-z0-9._-]{1,100}$")
    """Vercel project name."""
    repository: Repository = "example/web"
    """GitHub repository of the Next.js web app, ``owner/name``."""
    production_branch: str = "main"
    """Branch Vercel deploys to production."""
    root_directory: str | None = None
    """Directory of the Next.js app inside the repository (monorepos)."""


class RenderSettings(_Section):
    """``platform:render``: the NestJS API as a Render web service (pre-commercial)."""

    service_name: str = Field("platform-api", pattern=r"^[a-z0-9-]{1,64}$")
    """Render web service name."""
    owner_id: str = Field("tea-00000000000000000000", pattern=r"^(tea|usr)-[a-z0-9]{20}$")
    """Render workspace that owns the service (``tea-...``; the API requires it). The committed
    placeholder must be replaced. Changing it replaces the service (new ``srv-`` id and
    onrender.com host)."""
    repository: Repository = "example/api"
    """GitHub repository of the NestJS API, ``owner/name``."""
    branch: str = "main"
    """Branch Render deploys on push."""
    region: Literal[RENDER_REGIONS] = "singapore"  # type: ignore[valid-type]
    """Render has no Tokyo region; Singapore is the nearest. Set when the service is created:
    Render cannot move a service to another region."""
    plan: Literal[RENDER_PLANS] = "starter"  # type: ignore[valid-type]
    """Render instance type."""
    runtime: Literal["node", "docker"] = "node"
    """Build natively on Node or from the repository's Dockerfile."""
    build_command: str = "npm ci && npm run build"
    """Build command (``node`` runtime)."""
    start_command: str = "node dist/main.js"
    """Start command (``node`` runtime)."""
    health_check_path: str = Field("/health", pattern=r"^/[A-Za-z0-9/_.-]*$")
    """Path Render probes before routing traffic to an instance."""
    min_instances: int = Field(1, ge=1, le=100)
    """Autoscaling floor; equal to ``maxInstances``, the fixed instance count (no autoscaling).
    This and the other three scaling keys update the running service in place (Render's
    autoscaling and scale endpoints, through a dynamic provider: README, "Render")."""
    max_instances: int = Field(3, ge=1, le=100)
    """Autoscaling ceiling; equal to ``minInstances``: no autoscaling, that many instances."""
    cpu_target_percent: int = Field(70, ge=10, le=90)
    """Autoscaling target for average CPU (unused with a fixed count)."""
    memory_target_percent: int = Field(80, ge=10, le=90)
    """Autoscaling target for average memory (unused with a fixed count)."""
    outbound_cidrs: tuple[Cidr, ...] = ()
    """Render's published outbound addresses for ``region``, allowed in Atlas' access list."""
    custom_domain: bool = False
    """Serve the API at ``<dns.apiSubdomain>.<dns.domain>`` (a Render custom domain) and have the
    web call it there. Needs ``dns.domain`` and, first, a DNS record of that name pointing at the
    service's ``onrender.com`` host (docs/migration.md, phase 2); off: the web calls ``onrender.com``."""
    environment: PlainEnvironment = Field(default_factory=dict)
    """Plain, non-secret environment variables of the API."""

    @model_validator(mode="after")
    def _valid(self) -> RenderSettings:
        if self.min_instances > self.max_instances:
            raise ValueError(f"minInstances {self.min_instances} is above maxInstances {self.max_instances}")
        injected = sorted(
            {"DATABASE_URL", "DATABASE_POOL_MAX", "MONGODB_URI", "SENTRY_DSN", "NODE_ENV", "WEB_ORIGIN"}
            & self.environment.keys()
        )
        if injected:
            raise ValueError(f"environment must not set {injected}: the topology injects them")
        return self


class SupabaseSettings(_Section):
    """``platform:supabase``: the PostgreSQL project (pre-commercial)."""

    organization_id: str = Field("platform-org", pattern=r"^[a-z0-9-]{1,64}$")
    """Supabase organisation slug."""
    project_name: str = Field("platform", pattern=r"^[A-Za-z0-9 _-]{1,64}$")
    """Supabase project name."""
    region: Literal[SUPABASE_REGIONS] = "ap-northeast-1"  # type: ignore[valid-type]
    """Supabase region (Tokyo is ap-northeast-1)."""
    plan: Literal["free", "pro"] = "free"
    """Organisation plan the project runs on (``free`` pauses after a week idle, no backups)."""
    protect: bool = True
    """Refuse ``pulumi destroy`` of the project (the engine's protect)."""
    compute_size: Literal[tuple(SUPABASE_POOLER_LIMITS)] = "nano"  # type: ignore[valid-type]
    """The project's compute size (Free: ``nano``; set it to what the dashboard shows after an
    upgrade): it fixes the pooler's pool size and client limit the settings check against."""
    pool_mode: Literal["transaction", "session"] = "transaction"
    """Supavisor mode of the API's ``DATABASE_URL``: ``transaction`` (port 6543) admits the compute's
    pooler client limit, but prepared statements, ``LISTEN`` and session ``SET`` do not survive a
    transaction (disable the driver's named prepared statements, e.g. Prisma ``?pgbouncer=true``);
    ``session`` (5432) keeps them but admits only pool-size clients (15 on nano)."""
    connections_per_instance: int = Field(5, ge=1, le=100)
    """Pool size of each API instance, handed to it as ``DATABASE_POOL_MAX`` (the API must size its
    client pool from it); times ``render.maxInstances`` it must fit the pooler's limit."""
    other_clients: int = Field(0, ge=0, le=10000)
    """Connections other programs hold on the same pool mode, counted against the limit: during the
    cut-over the commercial stack's API tasks (its ``compute.maxCount`` times their pool size)."""


class BackupSettings(_Section):
    """``platform:backup``: the daily dumps of Supabase and Atlas to an S3 bucket (pre-commercial)."""

    enabled: bool = True
    """Run the backup job (a Render cron job) and keep its S3 bucket. Needs ``aws:region`` (the
    bucket's region) and AWS credentials for the stack, besides the Render ones."""
    schedule: CronSchedule = "0 18 * * *"
    """When the job runs, as a cron expression in **UTC** (Render evaluates schedules in UTC):
    ``0 18 * * *`` is 03:00 in Tokyo, the API's quietest hour."""
    retention_days: int = Field(35, ge=7, le=3650)
    """Days each archive is locked (S3 Object Lock) and kept; the lifecycle rule deletes it the day
    after. At least 7: a week of dailies, what Supabase Pro itself would keep."""
    lock_mode: Literal["governance", "compliance"] = "governance"
    """S3 Object Lock mode. ``governance``: nobody can delete or overwrite a locked archive unless
    an administrator passes ``s3:BypassGovernanceRetention``; ``compliance``: nobody at all, the
    account's root included, until the retention ends (a retention set too long cannot be undone)."""
    postgres_read_only: bool = True
    """Dump PostgreSQL as the read-only role ``platform_backup`` (created once with the SQL in
    docs/backup.md); off: as the project's ``postgres`` owner, through its session URL."""
    repository: Repository = "example/platform"
    """GitHub repository holding this program (``tools/backup.py`` and ``backup/Dockerfile``), which
    Render builds the job's image from. Render's GitHub app must have access to it."""
    branch: str = "main"
    """Branch Render builds the job from."""
    plan: Literal[RENDER_PLANS] = "starter"  # type: ignore[valid-type]
    """Render instance type of the job (billed per second of each run)."""


SECTIONS: dict[str, type[_Section]] = {
    "network": NetworkSettings,
    "dns": DnsSettings,
    "cutover": CutoverSettings,
    "security": SecuritySettings,
    "storage": StorageSettings,
    "compute": ComputeSettings,
    "schedule": ScheduleSettings,
    "edge": EdgeSettings,
    "database": DatabaseSettings,
    "atlas": AtlasSettings,
    "monitoring": MonitoringSettings,
    "sentry": SentrySettings,
    "datadog": DatadogSettings,
    "vercel": VercelSettings,
    "render": RenderSettings,
    "supabase": SupabaseSettings,
    "backup": BackupSettings,
}

# Sections that only mean something on AWS, and those only for the managed platforms.
AWS_SECTIONS = frozenset(
    {"network", "cutover", "security", "storage", "compute", "schedule", "edge", "database", "datadog"}
)
MANAGED_SECTIONS = frozenset({"vercel", "render", "supabase", "backup"})


class Settings(BaseModel):
    """Everything the program needs, validated."""

    model_config = ConfigDict(frozen=True)

    project: str
    stack: str
    topology: Topology
    region: str | None
    network: NetworkSettings
    dns: DnsSettings
    cutover: CutoverSettings
    security: SecuritySettings
    storage: StorageSettings
    compute: ComputeSettings
    schedule: ScheduleSettings
    edge: EdgeSettings
    database: DatabaseSettings
    atlas: AtlasSettings
    monitoring: MonitoringSettings
    sentry: SentrySettings
    datadog: DatadogSettings
    vercel: VercelSettings
    render: RenderSettings
    supabase: SupabaseSettings
    backup: BackupSettings
    datadog_api_key: Any = None
    """The ``datadog:apiKey`` provider secret (an Output) when the Datadog agent runs on AWS."""

    @property
    def on_aws(self) -> bool:
        return self.topology in AWS_TOPOLOGIES

    @property
    def serves_users(self) -> bool:
        """Production: pre-commercial and commercial serve real users; staging does not."""
        return self.topology != "staging"

    def name(self, suffix: str = "") -> str:
        """A physical-name prefix unique to this stack, e.g. ``platform-staging-api``."""
        base = f"{self.project}-{self.stack}"
        return f"{base}-{suffix}" if suffix else base

    @property
    def aws_region(self) -> str:
        """The AWS region; validated to be set for the AWS topologies."""
        if self.region is None:
            raise SettingsError([f"aws:region: required for the {self.topology} topology"])
        return self.region

    @property
    def parameter_prefix(self) -> str:
        """SSM parameter path of this stack's secrets."""
        return f"/{self.project}/{self.stack}"


# ---------------------------------------------------------------------------------------------
# Topology presets: the defaults each topology starts from, in stack-file (camelCase) form.

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "staging": {
        # fck-nat keeps tasks in private subnets and gives Atlas' access list fixed addresses,
        # for ~$17/month; ``none`` saves that but leaves the tasks' addresses unknown.
        "network": {"azCount": 2, "nat": "instance", "interfaceEndpoints": [], "flowLogRetentionDays": 14},
        # Its own host names under the shared domain: commercial serves api.<domain> and www.<domain>,
        # and a second stack on the same names would fight over their records and certificates.
        "dns": {"apiSubdomain": "api-staging", "webSubdomain": "staging"},
        # Staging follows the API's main branch through a moving ``latest`` tag.
        "storage": {"forceDestroyBuckets": True, "accessLogExpiryDays": 30, "ecrImmutableTags": False},
        "compute": {
            "cpu": 256,
            "memory": 512,
            "desiredCount": 1,
            "minCount": 1,
            "maxCount": 2,
            # Like staging's other log groups: test traffic, looked at within days.
            "logRetentionDays": 14,
        },
        "schedule": {"enabled": True, "mode": "stop"},
        "edge": {"cloudfront": False, "waf": False},
        "database": {
            "engine": "rds-postgres",
            "instanceClass": "db.t4g.micro",
            "backupRetentionDays": 1,
            "deletionProtection": False,
            "skipFinalSnapshot": True,
            "logRetentionDays": 14,
        },
        "atlas": {"tier": "M0"},
        "monitoring": {"monthlyBudgetUsd": 70, "logRetentionDays": 14},
        "datadog": {"enabled": False},
    },
    "pre-commercial": {
        # Render's nearest region to Japan is Singapore; the databases sit beside the API, since
        # one page makes many queries and each would otherwise cross to Tokyo and back (~70 ms).
        "atlas": {"tier": "M0", "region": "AP_SOUTHEAST_1"},
        "monitoring": {"monthlyBudgetUsd": 68},
        "vercel": {"plan": "pro"},
        "supabase": {"plan": "free", "protect": True, "region": "ap-southeast-1"},
    },
    "commercial": {
        # fck-nat per AZ keeps egress alive when an AZ fails, for a sixth of per-AZ NAT gateways;
        # interface endpoints would cost ~$184/month in 3 AZs (see the preview's comparison).
        "network": {"azCount": 3, "nat": "instance", "interfaceEndpoints": [], "flowLogRetentionDays": 90},
        "storage": {"forceDestroyBuckets": False, "accessLogExpiryDays": 365},
        "compute": {
            "cpu": 512,
            "memory": 1024,
            # Three tasks by day, two (the HA floor) at night, at weekends and on holidays.
            "desiredCount": 3,
            "minCount": 3,
            "maxCount": 6,
            "requestsPerTarget": 1000,
            "containerInsights": True,
            "albDeletionProtection": True,
            "logRetentionDays": 90,
        },
        "schedule": {
            "enabled": True,
            "mode": "scale-down",
            "start": "08:00",
            "stop": "23:00",
            "offHoursMinCount": 2,
        },
        "edge": {"cloudfront": True, "waf": True},
        "database": {
            "engine": "aurora-serverless-v2",
            "engineVersion": "17.7",
            "minCapacity": 0.5,
            "maxCapacity": 4,
            "readerInstances": 1,
            "backupRetentionDays": 14,
            "deletionProtection": True,
            "skipFinalSnapshot": False,
            "performanceInsights": True,
            "iamAuth": True,
            "logRetentionDays": 90,
        },
        "atlas": {
            "tier": "M10",
            # VPC peering: private like PrivateLink, without its ~$31/month of endpoint hours.
            "connectivity": "peering",
            "cloudBackup": True,
            "pitRestore": True,
            "terminationProtection": True,
        },
        "monitoring": {"monthlyBudgetUsd": 373, "dashboard": True, "logRetentionDays": 90},
        "datadog": {"enabled": True, "awsIntegration": True, "monitors": True, "logs": True},
    },
}


# ---------------------------------------------------------------------------------------------
# Loading


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` laid over it: objects merge key by key, anything else is replaced."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _holds_secret(annotation: Any) -> bool:
    return annotation is SecretStr or any(_holds_secret(arg) for arg in typing.get_args(annotation))


def _secret_keys(model: type[_Section]) -> frozenset[str]:
    """The keys of a section's SecretStr fields, as written in the stack file and in Python."""
    return frozenset(
        key
        for name, field in model.model_fields.items()
        if _holds_secret(field.annotation)
        for key in (name, field.alias or name)
    )


def _describe(error: dict[str, Any], section: str, *, secret: bool = False) -> str:
    """One problem as ``platform:<section>.<key>: <what is wrong> (got <value>)``.

    The value is left out when it may hold a secret: anywhere in a section Pulumi marks secret
    (``secret``: the section holds a value set with ``--secret``) and in a SecretStr field; and in
    a problem of the whole section, whose message names the values it is about.
    """
    loc = error["loc"]
    location = ".".join(str(part) for part in loc)
    key = f"{NAMESPACE}:{section}" + (f".{location}" if location else "")
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        allowed = sorted(field.alias or name for name, field in SECTIONS[section].model_fields.items())
        return f"{key}: unknown key; allowed keys in {NAMESPACE}:{section} are {allowed}"
    if error["type"] == "missing":
        return f"{key}: required, but not set"
    secret_keys = _secret_keys(SECTIONS[section])
    # A problem of the whole section already names the values involved; its input would be the
    # entire section, presets included.
    if not loc or secret or loc[0] in secret_keys or error["type"] == _SECRET_LOOKING_ERROR:
        return f"{key}: {message}"
    return f"{key}: {message} (got {error.get('input')!r})"


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

# RDS for PostgreSQL instance classes: family -> sizes (Amazon RDS User Guide, "Supported DB
# engines for DB instance classes", Concepts.DBInstanceClass.Support). A name outside this table
# is a typo or a class RDS for PostgreSQL does not offer; CreateDBInstance would refuse it after
# the network, keys and security groups already exist.
_BURSTABLE_SIZES = ("micro", "small", "medium", "large", "xlarge", "2xlarge")
_LARGE_SIZES = (
    "large",
    "xlarge",
    "2xlarge",
    "4xlarge",
    "8xlarge",
    "12xlarge",
    "16xlarge",
    "24xlarge",
    "32xlarge",
    "48xlarge",
)
RDS_POSTGRES_INSTANCE_FAMILIES: dict[str, tuple[str, ...]] = {
    "t3": _BURSTABLE_SIZES,
    "t4g": _BURSTABLE_SIZES,
    **dict.fromkeys(
        (
            "m5",
            "m5d",
            "m6g",
            "m6gd",
            "m6i",
            "m6id",
            "m6idn",
            "m6in",
            "m7g",
            "m7i",
            "m8g",
            "m8gd",
            "r5",
            "r5b",
            "r5d",
            "r6g",
            "r6gd",
            "r6i",
            "r6id",
            "r6idn",
            "r6in",
            "r7g",
            "r7i",
            "r8g",
            "r8gd",
            "x2g",
            "x2idn",
            "x2iedn",
            "x2iezn",
            "c6gd",
        ),
        _LARGE_SIZES,
    ),
}


def _is_rds_postgres_class(instance_class: str) -> bool:
    _, family, size = instance_class.split(".", 2)  # the field's pattern guarantees db.<family>.<size>
    return size in RDS_POSTGRES_INSTANCE_FAMILIES.get(family, ())


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
            and not _is_rds_postgres_class(s.database.instance_class)
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


# Steps forward a stack may take in one `pulumi up` (docs/migration.md). Any other step forward
# would leave records Route 53 refuses beside each other, or skip the canary's shared data.
CUTOVER_STEPS: frozenset[tuple[str, str]] = frozenset(
    {("off", "canary"), ("canary", "data-switched"), ("data-switched", "done"), ("off", "done")}
)


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


def parse_settings(
    config: Mapping[str, Any],
    *,
    project: str = "platform",
    stack: str = "dev",
    region: str | None = None,
    secret_sections: Collection[str] = (),
) -> Settings:
    """Validate the ``platform`` namespace of a stack's config (keys without the namespace).

    ``config`` maps ``topology`` and section names to their raw values as Pulumi returns them
    (structured sections as dicts). ``secret_sections`` names the sections Pulumi marks secret
    (one of their values was set with ``--secret``): their problems never quote a value.
    Raises :class:`SettingsError` listing every problem.
    """
    problems: list[str] = []
    topology = config.get("topology")
    if topology is None:
        raise SettingsError([f"{NAMESPACE}:topology: required, one of {list(TOPOLOGIES)}"])
    if topology not in TOPOLOGIES:
        raise SettingsError(
            [f"{NAMESPACE}:topology: {topology!r} is not a topology; allowed: {list(TOPOLOGIES)}"]
        )

    unknown = sorted(set(config) - set(SECTIONS) - {"topology"})
    for name in unknown:
        problems.append(f"{NAMESPACE}:{name}: unknown key; allowed keys are {['topology', *SECTIONS]}")
    irrelevant = AWS_SECTIONS if topology == "pre-commercial" else MANAGED_SECTIONS
    # Pulumi.yaml declares every section with `default: {}`, so the engine hands each one to the
    # program, empty where the stack sets nothing: only a section with keys is set.
    set_sections = {name for name, value in config.items() if value != {}}
    for name in sorted(irrelevant & set_sections):
        problems.append(f"{NAMESPACE}:{name}: not used by the {topology} topology; remove it")

    sections: dict[str, _Section] = {}
    for name, model in SECTIONS.items():
        raw = config.get(name, {})
        secret = name in secret_sections
        if not isinstance(raw, Mapping):
            got = "" if secret else f" (got {raw!r})"
            problems.append(f"{NAMESPACE}:{name}: must be an object of keys{got}")
            continue
        values = deep_merge(PRESETS[topology].get(name, {}), raw)
        try:
            sections[name] = model.model_validate(values)
        except ValidationError as error:
            problems.extend(_describe(e, name, secret=secret) for e in error.errors())
    if problems:
        raise SettingsError(problems)

    if topology in AWS_TOPOLOGIES and region is None:
        raise SettingsError(["aws:region: required for the AWS topologies (ap-northeast-1 is Tokyo)"])
    settings = Settings(project=project, stack=stack, topology=topology, region=region, **sections)
    problems = _cross_checks(settings) + _table_problems(settings)
    if problems:
        raise SettingsError(problems)
    return settings


def _platform_config() -> dict[str, Any]:
    """Every key set in the ``platform`` namespace, parsed as Pulumi stores it."""
    import json

    raw = {**pulumi.runtime.get_config_env(), **pulumi.runtime.config.CONFIG.get()}
    values: dict[str, Any] = {}
    for full_key, value in raw.items():
        namespace, _, key = full_key.partition(":")
        if namespace != NAMESPACE:
            continue
        try:
            values[key] = json.loads(value) if isinstance(value, str) and value[:1] in "{[" else value
        except json.JSONDecodeError:
            values[key] = value
    return values


def _platform_secret_sections() -> frozenset[str]:
    """Sections Pulumi marks secret. A value set with ``pulumi config set --path --secret`` reaches
    the program decrypted inside its section's JSON, and the whole section's key is listed as
    secret (``PULUMI_CONFIG_SECRET_KEYS``)."""
    keys = {*pulumi.runtime.get_config_secret_keys_env()}
    keys |= {k for k in pulumi.runtime.config.CONFIG.get() if pulumi.runtime.config.is_config_secret(k)}
    return frozenset(key.partition(":")[2] for key in keys if key.partition(":")[0] == NAMESPACE)


_RESERVED_DOMAINS = ("example.com", "example.net", "example.org")


def _is_example(value: str | None) -> bool:
    """A committed placeholder: an RFC 2606 example domain or an ``example`` owner/organisation."""
    if not value:
        return False
    host = value.rsplit("@", 1)[-1]
    return (
        host in _RESERVED_DOMAINS
        or host.endswith(tuple(f".{d}" for d in _RESERVED_DOMAINS))
        or (value.split("/", 1)[0] in ("example", "example-org"))
    )


def placeholders(settings: Settings) -> list[tuple[str, str]]:
    """(key, value) of every setting that still holds a committed placeholder: the services would
    refuse it, or alarms would go nowhere. Previews warn about each; updates refuse to start."""
    candidates = [
        ("dns.domain", settings.dns.domain, _is_example(settings.dns.domain)),
        (
            "monitoring.alarmEmail",
            settings.monitoring.alarm_email,
            _is_example(settings.monitoring.alarm_email),
        ),
        (
            "atlas.orgId",
            settings.atlas.org_id,
            settings.atlas.enabled and set(settings.atlas.org_id) == {"0"},
        ),
        (
            "sentry.organization",
            settings.sentry.organization,
            settings.sentry.enabled and _is_example(settings.sentry.organization),
        ),
    ]
    if settings.topology == "pre-commercial":
        render, vercel = settings.render, settings.vercel
        candidates += [
            ("vercel.repository", vercel.repository, _is_example(vercel.repository)),
            ("render.repository", render.repository, _is_example(render.repository)),
            ("render.ownerId", render.owner_id, set(render.owner_id.split("-", 1)[1]) == {"0"}),
            (
                "vercel.teamId",
                vercel.team_id,
                vercel.team_id is not None and set(vercel.team_id.split("_", 1)[1]) == {"0"},
            ),
            (
                "backup.repository",
                settings.backup.repository,
                settings.backup.enabled and _is_example(settings.backup.repository),
            ),
            (
                "supabase.organizationId",
                settings.supabase.organization_id,
                _is_example(settings.supabase.organization_id),
            ),
        ]
    return [
        (f"{NAMESPACE}:{name}", str(value)) for name, value, is_placeholder in candidates if is_placeholder
    ]


def load_settings() -> Settings:
    """Read and validate this stack's config. Call before registering any resource."""
    region = pulumi.Config("aws").get("region")
    settings = parse_settings(
        _platform_config(),
        project=pulumi.get_project(),
        stack=pulumi.get_stack(),
        region=region,
        secret_sections=_platform_secret_sections(),
    )
    if settings.on_aws and settings.datadog.enabled:
        # The agent sidecar needs the same key the Datadog provider is configured with.
        api_key = pulumi.Config("datadog").get_secret("apiKey")
        if api_key is None:
            raise SettingsError(
                [
                    f"datadog:apiKey: required when {NAMESPACE}:datadog.enabled is true (the agent's API key); "
                    "set it with `pulumi config set --secret datadog:apiKey <key>`"
                ]
            )
        settings = settings.model_copy(update={"datadog_api_key": api_key})
    return settings
