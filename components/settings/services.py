"""``platform:services``: the container services on the AWS topologies' ECS cluster, as a map.

Each entry is one service (``api``, ``web``, or any name a stack adds): its image, size, counts,
scaling, business hours, environment, the secrets it receives and the host name it is served on.
The presets give staging and commercial ``api`` (the NestJS API) and ``web`` (the Next.js web); a
stack file adds a service with one more entry and removes one with ``enabled: false``.
"""

from __future__ import annotations

import hashlib
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field, RootModel, StringConstraints, model_validator

from components.settings.fields import FARGATE_SIZES, ImageRef, LogRetention, PlainEnvironment, Section

# The stack's own secrets a service may receive by name (components/topologies.py `_secrets`).
# ``SENTRY_DSN`` is the service's own project's, given to every service with ``sentryPlatform``;
# the Datadog key goes to the agent beside it, never to the application.
ServiceSecret = Literal["DATABASE_URL", "MONGODB_URI"]
# Variables the platform sets itself or injects as secrets; a service's plain environment must
# leave them alone.
RESERVED_ENVIRONMENT = frozenset(
    {"DATABASE_URL", "MONGODB_URI", "SENTRY_DSN", "DD_API_KEY", "PORT", "NODE_ENV"}
)
# Names the stack already gives other things in the places a service's name goes: the database
# admin task's family and roles (`<prefix>-db-admin`, components/migrations.py), the database's
# log source in the Datadog log path (components/topologies.py) and the Datadog Agent's init
# container beside the app's (components/containers.py).
# The database's alarms are keyed db<N>-..., db-writer-... and db-reader-... (components/monitoring.py),
# as a service's are <name>-..., so names of that shape are refused too.
RESERVED_SERVICE_NAMES = frozenset({"db-admin", "database", "datadog-init", "db-writer", "db-reader"})
_DATABASE_ALARM_PREFIX = re.compile(r"db\d+")
# Listener rule priorities: 1-50,000, unique per listener (ELB API reference, CreateRule ``Priority``).
MAX_RULE_PRIORITY = 50_000


def _service_name(name: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9-]{0,11}", name):
        raise ValueError("a service's name is 1-12 lower-case letters, digits or '-', starting with a letter")
    if name in RESERVED_SERVICE_NAMES or _DATABASE_ALARM_PREFIX.fullmatch(name):
        raise ValueError(
            f"{name!r} is taken by the stack itself; reserved: {sorted(RESERVED_SERVICE_NAMES)} and db<N>"
        )
    return name


def rule_priority(service: str) -> int:
    """A listener-rule priority fixed by the service's name, so adding or removing another service
    never renumbers this one's rule (the hosts are disjoint, so their order does not matter); the
    provider updates a changed priority in place (hashicorp/terraform-provider-aws
    internal/service/elbv2/listener_rule.go, ``priority`` not ForceNew)."""
    return int(hashlib.sha256(service.encode()).hexdigest(), 16) % MAX_RULE_PRIORITY + 1


def app_volume(path: str) -> str:
    """The task storage volume of one of the application's writable paths (``/tmp`` -> ``tmp``,
    ``/app/.next/cache`` -> ``app-next-cache``); not shared with the Datadog Agent, whose volumes
    are ``datadog-*`` (components/containers.py)."""
    return re.sub(r"[^A-Za-z0-9]+", "-", path).strip("-")


# A service's name is part of physical names (`<project>-<stack>-<name>-execution`, a target group's
# 32 characters, a Sentry slug), hence short and lower case.
ServiceName = Annotated[str, AfterValidator(_service_name)]
WritablePath = Annotated[str, StringConstraints(pattern=r"^/[A-Za-z0-9/_.-]+$")]


def _fargate_sizes_text() -> str:
    return "; ".join(
        f"cpu {cpu}: memory {', '.join(str(m) for m in mems)}" for cpu, mems in FARGATE_SIZES.items()
    )


def _distinct(paths: tuple[str, ...]) -> tuple[str, ...]:
    if len(set(paths)) != len(paths):
        raise ValueError(f"lists a path twice: {list(paths)}")
    # Each path is its own task-storage volume, named after it; RegisterTaskDefinition refuses two
    # volumes of one name and a name outside 1-255 letters, digits, '-' and '_' (ECS API
    # reference, Volume ``name``).
    volumes = [app_volume(path) for path in paths]
    clash = [
        p
        for p, v in zip(paths, volumes, strict=True)
        if not v or volumes.count(v) > 1 or v.startswith("datadog-")
    ]
    if clash:
        raise ValueError(
            f"{clash} give task-storage volumes that are empty, the same as another path's, or the "
            "Datadog Agent's (datadog-*); choose paths whose letters and digits differ"
        )
    return paths


class ServiceSettings(Section):
    """``platform:services.<name>``: one service on ECS Fargate.

    Served on the shared load balancer at ``<subdomain>.<domain>`` when ``subdomain`` is set
    (a service without one, such as a worker, gets no target group and no route).
    """

    enabled: bool = True
    """Build the service; ``false`` removes a preset's entry from the stack."""
    image: ImageRef | None = None
    """Container image. Unset: the service's own ECR repository (``<project>-<stack>-<name>``) at
    ``imageTag``."""
    image_tag: str = Field("latest", pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
    """Tag deployed from the service's ECR repository when ``image`` is unset."""
    subdomain: str | None = Field(None, pattern=r"^[a-z0-9-]{1,63}$")
    """The service is served at ``<subdomain>.<domain>`` through the load balancer (and CloudFront
    when on); unset: not served at all. Without ``platform:dns.domain`` one service may set it and
    takes every request to the load balancer's own name."""
    port: int = Field(3000, ge=1, le=65535)
    """Port the container listens on (set as ``PORT``)."""
    health_check_path: str = Field("/health", pattern=r"^/[A-Za-z0-9/_.-]*$")
    """HTTP path the load balancer and the container health check probe; it must answer without
    the database, so a database outage does not restart every task."""
    cpu: int = 256
    """Fargate task CPU units."""
    memory: int = 512
    """Fargate task memory (MiB); must pair with ``cpu``."""
    architecture: Literal["ARM64", "X86_64"] = "ARM64"
    """CPU architecture the image is built for; Graviton (ARM64) is about 20% cheaper."""
    desired_count: int = Field(1, ge=0, le=100)
    """Tasks at deploy time (the autoscaler and schedules own it afterwards)."""
    min_count: int = Field(1, ge=0, le=100)
    """Fewest tasks the autoscaler keeps during business hours."""
    max_count: int = Field(2, ge=1, le=100)
    """Most tasks the autoscaler may run."""
    cpu_target_percent: int = Field(60, ge=10, le=90)
    """Target-tracking goal for average CPU."""
    requests_per_target: int | None = Field(None, ge=10, le=100000)
    """Target-tracking goal for load-balancer requests per task per minute (needs ``subdomain``);
    unset disables that policy."""
    schedule: bool = True
    """Follow ``platform:schedule`` (business hours); off: the service runs around the clock."""
    spot: bool = False
    """Share the tasks above ``onDemandBase`` with Fargate Spot (X86_64 and, on platform version
    1.4.0, the default, ARM64 too: ECS API reference, CapacityProviderStrategyItem)."""
    on_demand_base: int = Field(1, ge=0, le=100)
    """Tasks always on regular Fargate when ``spot`` is on."""
    spot_weight: int = Field(1, ge=1, le=1000)
    """Fargate Spot's share of tasks above the base (regular Fargate's weight is 1)."""
    log_retention_days: LogRetention = 30
    """Days the service's container logs are kept."""
    environment: PlainEnvironment = Field(default_factory=dict)
    """Plain, non-secret environment variables; secrets never go here."""
    secrets: tuple[ServiceSecret, ...] = ()
    """The stack's secrets the service receives, by name: ``DATABASE_URL`` (the app role's
    PostgreSQL URL; the service may then reach the database) and ``MONGODB_URI`` (Atlas; the
    service may then reach it). ``SENTRY_DSN`` comes with ``sentryPlatform``."""
    writable_paths: Annotated[tuple[WritablePath, ...], AfterValidator(_distinct)] = ("/tmp",)
    """Paths the container may write under its read-only root filesystem, each its own task
    storage (e.g. Next.js's ``/app/.next/cache``)."""
    sentry_platform: str | None = Field(None, pattern=r"^[a-z0-9-]{1,64}$")
    """Sentry project platform (``node-nestjs``, ``javascript-nextjs``): with ``platform:sentry``
    on, the service gets its own Sentry project and its ``SENTRY_DSN``; unset: none."""
    datadog_source: str = Field("nodejs", pattern=r"^[a-z0-9_-]{1,64}$")
    """Datadog log ``source`` of the service's container logs (its log pipeline)."""
    apm_root_span: str = Field("express.request", pattern=r"^[a-z0-9_]+\.[a-z0-9_]+$")
    """Root span of the service's requests, which the Datadog monitors watch: dd-trace names
    NestJS-on-Express requests ``express.request`` and Next.js's ``next.request`` (the
    ``datadog-plugin-next`` server plugin)."""

    @model_validator(mode="after")
    def _valid(self) -> ServiceSettings:
        if self.cpu not in FARGATE_SIZES:
            raise ValueError(f"cpu {self.cpu} is not a Fargate size; allowed pairs: {_fargate_sizes_text()}")
        if self.memory not in FARGATE_SIZES[self.cpu]:
            raise ValueError(
                f"cpu {self.cpu} with memory {self.memory} is not a valid Fargate pair; "
                f"cpu {self.cpu} allows memory {list(FARGATE_SIZES[self.cpu])}"
            )
        if self.min_count > self.max_count:
            raise ValueError(f"minCount {self.min_count} is above maxCount {self.max_count}")
        if self.spot and self.on_demand_base < 1:
            raise ValueError("spot needs onDemandBase of at least 1 so one task never runs on Spot")
        if self.requests_per_target is not None and self.subdomain is None:
            raise ValueError("requestsPerTarget needs subdomain: only a served service has requests")
        clash = sorted(RESERVED_ENVIRONMENT & self.environment.keys())
        if clash:
            raise ValueError(f"environment must not set {clash}: the platform sets or injects them")
        if len(set(self.secrets)) != len(self.secrets):
            raise ValueError(f"secrets lists a name twice: {list(self.secrets)}")
        return self


class ServicesSettings(RootModel[dict[ServiceName, ServiceSettings]]):
    """``platform:services``: the services on the cluster, by name (``api``, ``web``, ...).

    Every entry is a ``platform:services.<name>`` object of the keys below; the preset's entries
    merge key by key with the stack file's, so a stack sets ``platform:services.web.cpu`` alone.
    """

    model_config = ConfigDict(frozen=True)

    @model_validator(mode="after")
    def _distinct_priorities(self) -> ServicesSettings:
        # Two served services whose names hash to one priority would stop `up` at the second
        # CreateRule (PriorityInUse).
        served = [name for name, entry in self.root.items() if entry.enabled and entry.subdomain is not None]
        by_priority: dict[int, str] = {}
        for name in served:
            other = by_priority.setdefault(rule_priority(name), name)
            if other != name:
                raise ValueError(
                    f"{other!r} and {name!r} take the same listener-rule priority "
                    f"({rule_priority(name)}, fixed by the name); rename one"
                )
        return self

    @property
    def enabled(self) -> dict[str, ServiceSettings]:
        """The services the stack builds, in the order they are written."""
        return {name: service for name, service in self.root.items() if service.enabled}
