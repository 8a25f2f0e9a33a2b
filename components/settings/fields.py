"""The settings' vocabulary: topologies, the error, domain tables, field validators and types.

Every value a stack file may hold is checked here field by field; the section models (``aws``,
``cutover``, ``data``, ``observability``, ``managed``) combine these types, and ``checks`` holds
the rules across sections.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from datetime import date
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import pulumi
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr
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

# RDS for PostgreSQL instance classes: family -> sizes (Amazon RDS User Guide, "Supported DB
# engines for DB instance classes", Concepts.DBInstanceClass.Support). A name outside this table
# is a typo or a class RDS for PostgreSQL does not offer; CreateDBInstance would refuse it after
# the network, keys and security groups already exist.
_BURSTABLE_SIZES = ("micro", "small", "medium", "large", "xlarge", "2xlarge")
_LARGE_SIZES = (
    "large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge",
    "32xlarge", "48xlarge",
)  # fmt: skip
RDS_POSTGRES_INSTANCE_FAMILIES: dict[str, tuple[str, ...]] = {
    "t3": _BURSTABLE_SIZES,
    "t4g": _BURSTABLE_SIZES,
    **dict.fromkeys(
        (
            "m5", "m5d", "m6g", "m6gd", "m6i", "m6id", "m6idn", "m6in", "m7g", "m7i", "m8g", "m8gd",
            "r5", "r5b", "r5d", "r6g", "r6gd", "r6i", "r6id", "r6idn", "r6in", "r7g", "r7i", "r8g",
            "r8gd", "x2g", "x2idn", "x2iedn", "x2iezn", "c6gd",
        ),
        _LARGE_SIZES,
    ),
}  # fmt: skip


def is_rds_postgres_class(instance_class: str) -> bool:
    """Whether ``db.<family>.<size>`` is a class RDS for PostgreSQL offers."""
    _, family, size = instance_class.split(".", 2)  # the field's pattern guarantees db.<family>.<size>
    return size in RDS_POSTGRES_INSTANCE_FAMILIES.get(family, ())


# An Application Load Balancer's subnets need "at least a /27 bitmask and at least 8 free IP
# addresses" (Elastic Load Balancing, "Subnets for your Application Load Balancer").
ALB_SUBNET_MAX_PREFIX = 27

# Ports the tasks may already reach on the internet, where EC2 refuses a second rule with the
# same protocol, port and peer: HTTPS, and MongoDB while Atlas is reached over the internet.
TASK_INTERNET_PORTS = (443, 27017)


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
SECRET_LOOKING_ERROR = "secret_looking_name"


def _check_plain_environment(environment: dict[str, str]) -> dict[str, str]:
    secret_looking = sorted(name for name in environment if _SECRET_LOOKING_NAME.search(name.upper()))
    if secret_looking:
        # Its own error type, so that the problem never quotes the values (see _describe).
        raise PydanticCustomError(
            SECRET_LOOKING_ERROR,
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
HolidayCountry = Annotated[str, AfterValidator(_check_holiday_country)]
ClosedDay = Annotated[str, AfterValidator(_check_closed_day)]


class Section(BaseModel):
    """A config section: camelCase keys, unknown keys rejected, immutable once loaded."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        validate_default=True,
        use_attribute_docstrings=True,  # the docstrings below are the config reference
    )
