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
from collections.abc import Collection, Mapping
from datetime import time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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


class CutoverSettings(_Section):
    """``platform:cutover``: moving ``api.<domain>`` from the pre-commercial API to AWS gradually.

    Route 53 answers with weighted CNAME records: ``awsWeight`` percent of lookups get the
    CloudFront distribution, the rest the pre-commercial API's host (e.g. on Render). Raise the
    weight step by step (canary), watch the alarms, and finish at 100 before retiring Render.
    """

    enabled: bool = False
    """Serve ``api.<domain>`` through weighted records instead of a plain alias to CloudFront."""
    legacy_api_host: DomainName | None = None
    """Host name of the pre-commercial API, e.g. ``platform-api.onrender.com``."""
    aws_weight: int = Field(0, ge=0, le=100)
    """Percent of DNS answers that point at AWS (0: none yet, 100: fully moved)."""
    ttl_seconds: int = Field(60, ge=30, le=3600)
    """TTL of the weighted records: short, so a step (or a step back) takes effect quickly."""
    data_source: Literal["aws", "legacy"] = "aws"
    """Databases the AWS API uses: ``aws`` (this stack's Aurora and Atlas cluster) or ``legacy``
    (the pre-commercial Supabase pooler and Atlas M0, so writes never split between two databases
    while both sides serve users). Back to ``aws`` only in the data window, after the copy."""
    legacy_database_url: PostgresUrl | None = None
    """``dataSource: legacy``: the pre-commercial PostgreSQL URL (Supabase's session pooler, with
    ``sslmode=require``). A secret: ``pulumi config set --path --secret
    platform:cutover.legacyDatabaseUrl ...``; ignored with ``dataSource: aws``."""
    legacy_mongodb_uri: MongodbSrvUri | None = None
    """``dataSource: legacy``: the pre-commercial Atlas M0 ``mongodb+srv://`` URI. A secret:
    ``pulumi config set --path --secret platform:cutover.legacyMongodbUri ...``."""
    legacy_database_port: int = Field(5432, ge=1, le=65535)
    """``dataSource: legacy``: port of ``legacyDatabaseUrl`` the API tasks may reach on the internet
    (Supabase's pooler: 5432 session mode, as the pre-commercial API uses; 6543 transaction mode)."""


class SecuritySettings(_Section):
    """``platform:security``: the stack's KMS key and secrets."""

    kms_deletion_window_days: int = Field(30, ge=7, le=30)
    """Days a scheduled key deletion can still be cancelled."""


class StorageSettings(_Section):
    """``platform:storage``: the image repository and the access-log bucket."""

    ecr_immutable_tags: bool = True
    """Refuse to overwrite an image tag (deploy by digest or unique tag)."""
    ecr_keep_images: int = Field(30, ge=1, le=1000)
    """Tagged images kept by the lifecycle policy; untagged images expire after a day."""
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
    environment: dict[str, str] = Field(default_factory=dict)
    """Plain, non-secret environment variables; secrets never go here."""
    alb_deletion_protection: bool = False
    """Refuse to delete the load balancer until this is turned off."""

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


class ScheduleSettings(_Section):
    """``platform:schedule``: when the service runs.

    Staging (``mode: stop``) scales the service to zero and stops the database outside these
    hours. Commercial (``mode: scale-down``) lowers the task floor to ``offHoursMinCount``.
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
    """Days the service runs during ``start``-``stop``."""
    warm_up_minutes: int = Field(15, ge=0, le=120)
    """How long before ``start`` the resources are started, so they are ready at ``start``."""
    off_hours_min_count: int = Field(1, ge=0, le=100)
    """``scale-down`` mode: task floor at night and at weekends."""

    @model_validator(mode="after")
    def _order(self) -> ScheduleSettings:
        if time.fromisoformat(self.start) >= time.fromisoformat(self.stop):
            raise ValueError(f"start {self.start} must be before stop {self.stop}")
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
    """MongoDB major version of dedicated and flex clusters."""
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
    """Sentry team slug that owns the projects."""


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
    """Register the AWS account with Datadog through its read-only integration role."""
    monitors: bool = False
    """Datadog monitors for API latency and error rate."""
    agent_image: ImageRef = "public.ecr.aws/datadog/agent:7"
    """Datadog agent image of the sidecar."""


class VercelSettings(_Section):
    """``platform:vercel``: the Next.js web front end (pre-commercial)."""

    plan: Literal["hobby", "pro", "enterprise"] = "pro"
    """Vercel plan of the team; Hobby forbids commercial use."""
    team_id: str | None = Field(None, pattern=r"^team_[A-Za-z0-9]+$")
    """Vercel team that owns the project (unset: the token's personal account)."""
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
    placeholder must be replaced."""
    repository: Repository = "example/api"
    """GitHub repository of the NestJS API, ``owner/name``."""
    branch: str = "main"
    """Branch Render deploys on push."""
    region: Literal[RENDER_REGIONS] = "singapore"  # type: ignore[valid-type]
    """Render has no Tokyo region; Singapore is the nearest."""
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
    """Autoscaling floor."""
    max_instances: int = Field(3, ge=1, le=100)
    """Autoscaling ceiling."""
    cpu_target_percent: int = Field(70, ge=10, le=90)
    """Autoscaling target for average CPU."""
    memory_target_percent: int = Field(80, ge=10, le=90)
    """Autoscaling target for average memory."""
    outbound_cidrs: tuple[Cidr, ...] = ()
    """Render's published outbound addresses for ``region``, allowed in Atlas' access list."""
    environment: dict[str, str] = Field(default_factory=dict)
    """Plain, non-secret environment variables of the API."""

    @model_validator(mode="after")
    def _valid(self) -> RenderSettings:
        if self.min_instances > self.max_instances:
            raise ValueError(f"minInstances {self.min_instances} is above maxInstances {self.max_instances}")
        injected = sorted(
            {"DATABASE_URL", "MONGODB_URI", "SENTRY_DSN", "NODE_ENV", "WEB_ORIGIN"} & self.environment.keys()
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
}

# Sections that only mean something on AWS, and those only for the managed platforms.
AWS_SECTIONS = frozenset(
    {"network", "cutover", "security", "storage", "compute", "schedule", "edge", "database", "datadog"}
)
MANAGED_SECTIONS = frozenset({"vercel", "render", "supabase"})


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
    datadog_api_key: Any = None
    """The ``datadog:apiKey`` provider secret (an Output) when the Datadog agent runs on AWS."""

    @property
    def on_aws(self) -> bool:
        return self.topology in AWS_TOPOLOGIES

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
        # Staging follows the API's main branch through a moving ``latest`` tag.
        "storage": {"forceDestroyBuckets": True, "accessLogExpiryDays": 30, "ecrImmutableTags": False},
        "compute": {"cpu": 256, "memory": 512, "desiredCount": 1, "minCount": 1, "maxCount": 2},
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
            "desiredCount": 2,
            "minCount": 2,
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
        "datadog": {"enabled": True, "awsIntegration": True, "monitors": True},
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
    if not loc or secret or loc[0] in secret_keys:
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
    cutover = settings.cutover
    if cutover.enabled:
        missing = [
            name
            for name, ok in (
                (f"{key}dns.domain", settings.dns.domain),
                (f"{key}cutover.legacyApiHost", cutover.legacy_api_host),
                (f"{key}edge.cloudfront", settings.edge.cloudfront),
            )
            if not ok
        ]
        if missing:
            problems.append(f"{key}cutover.enabled: the weighted cut-over needs {', '.join(missing)}")
    if cutover.data_source == "legacy":
        problems.extend(_legacy_data_problems(settings))
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
    if scale_down and settings.schedule.off_hours_min_count > settings.compute.max_count:
        problems.append(
            f"{key}schedule.offHoursMinCount: {settings.schedule.off_hours_min_count} is above "
            f"compute.maxCount {settings.compute.max_count}"
        )
    return problems


def _legacy_data_problems(settings: Settings) -> list[str]:
    """``cutover.dataSource: legacy``: the API on AWS uses the pre-commercial databases."""
    cutover, key = settings.cutover, f"{NAMESPACE}:cutover"
    problems: list[str] = []
    if not cutover.enabled:
        problems.append(
            f"{key}.dataSource: 'legacy' is for the weighted cut-over only; set {key}.enabled to true, "
            "or use 'aws'"
        )
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
                f"{key}.{name}: required with dataSource 'legacy'; set it as a secret: "
                f"`pulumi config set --path --secret {key}.{name} <connection string>`"
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
    for name in sorted(irrelevant & set(config)):
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
    problems = _cross_checks(settings)
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
