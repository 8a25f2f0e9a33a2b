"""The AWS topologies' sections: network, DNS, security, storage, compute, schedule and edge."""

from __future__ import annotations

import re
from datetime import time
from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.settings.fields import (
    INTERFACE_ENDPOINTS,
    ClockTime,
    ClosedDay,
    DomainName,
    HolidayCountry,
    LogRetention,
    PrivateCidr,
    Section,
    TimeZone,
)


class NetworkSettings(Section):
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


class DnsSettings(Section):
    """``platform:dns``: the public domain. Without one, AWS stacks serve over the ALB's own name."""

    domain: DomainName | None = None
    """Apex domain of an existing Route 53 public hosted zone (e.g. ``example.com``)."""
    api_subdomain: str = Field("api", pattern=r"^[a-z0-9-]{1,63}$")
    """The API is served at ``<apiSubdomain>.<domain>``."""
    web_subdomain: str = Field("www", pattern=r"^[a-z0-9-]{1,63}$")
    """The web front end is served at ``<webSubdomain>.<domain>`` (pre-commercial: on Vercel)."""


class SecuritySettings(Section):
    """``platform:security``: the stack's KMS key and secrets."""

    kms_deletion_window_days: int = Field(30, ge=7, le=30)
    """Days a scheduled key deletion can still be cancelled."""
    permissions_boundary: str | None = Field(
        None, pattern=r"^(arn:aws:iam::\d{12}:policy/)?[A-Za-z0-9+=,.@_-]{1,128}$"
    )
    """IAM policy (name in this account, or ARN) set as the permissions boundary of every role the
    stack creates; the stack's deploy role may create no role without it. Unset:
    ``<project>-github-<stack>-boundary``, the one bootstrap/ creates for the stack's environment."""


class StorageSettings(Section):
    """``platform:storage``: the image repository and the access-log bucket."""

    ecr_immutable_tags: bool = True
    """Refuse to overwrite an image tag (deploy by digest or unique tag)."""
    ecr_keep_images: int = Field(30, ge=1, le=1000)
    """Tagged images kept by the lifecycle policy; the newest 10 untagged ones are kept too."""
    access_log_expiry_days: int = Field(90, ge=1, le=3650)
    """Days ALB and CloudFront access logs are kept."""
    force_destroy_buckets: bool = False
    """Let ``pulumi destroy`` delete non-empty log buckets (staging convenience only)."""


class ComputeSettings(Section):
    """``platform:compute``: the ECS cluster and the load balancer its services share (each
    service's own keys are in ``platform:services``)."""

    container_insights: bool = False
    """CloudWatch Container Insights metrics for the cluster (billed per metric)."""
    alb_deletion_protection: bool = False
    """Refuse to delete the load balancer until this is turned off."""
    deployment_timeout_minutes: int = Field(20, ge=5, le=120)
    """`pulumi up` waits this long for each service to reach a steady state after a new deployment
    and fails past it; the deploy workflow then fails if the circuit breaker rolled it back."""


# The database stops this long after the tasks' night stop, once they have drained (deregistration
# delay 30 s + stop timeout 30 s, components/service.py) and closed their connections.
DATABASE_STOP_DELAY_MINUTES = 15


class ScheduleSettings(Section):
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
    holiday_country: HolidayCountry | None = "JP"
    """Country whose public holidays close the service (ISO 3166 code, the ``holidays`` library's
    calendar); null: only ``weekdays`` and ``closedDays`` decide."""
    closed_days: list[ClosedDay] = Field(default_factory=list)
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


_CACHE_PATH_PATTERN = re.compile(r"[A-Za-z0-9_\-.*?$/~\"'@:+&]{1,255}")


class EdgeSettings(Section):
    """``platform:edge``: CloudFront and WAF in front of the ALB.

    The ALB refuses traffic that bypasses CloudFront: it becomes internal and CloudFront reaches it
    through a VPC origin, which also saves the ALB's public IPv4 addresses.
    """

    cloudfront: bool = False
    """Put CloudFront in front of the ALB (the ALB becomes internal, reached through a VPC origin)."""
    certificate_arn: str | None = Field(
        None, pattern=r"^arn:aws:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$"
    )
    """An existing ACM certificate for the CloudFront aliases (every public host); must be in
    us-east-1. Unset with a domain: one is requested in us-east-1 for all the hosts and validated
    through Route 53."""
    price_class: Literal["PriceClass_100", "PriceClass_200", "PriceClass_All"] = "PriceClass_200"
    """PriceClass_200 is the cheapest that includes Japan's edge locations."""
    cache_api: bool = False
    """Cache what the default behaviour serves (the API and the web's server-rendered pages) when
    the origin's Cache-Control allows it, keyed per host and caller; off: nothing outside
    ``immutablePaths`` is cached."""
    immutable_paths: tuple[str, ...] = ("/_next/static/*",)
    """CloudFront path patterns of content-hashed assets, cached at the edge for as long as the
    origin allows (Next.js sends ``max-age=31536000, immutable`` for ``/_next/static/*``), one cache
    entry per host. Checked in this order, before the default behaviour."""
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

    @field_validator("immutable_paths")
    @classmethod
    def _valid_path_patterns(cls, paths: tuple[str, ...]) -> tuple[str, ...]:
        # CloudFront's path-pattern rules: at most 255 characters from this set, * and ? the only
        # wildcards, "*" alone reserved for the default behaviour. https://docs.aws.amazon.com/
        # AmazonCloudFront/latest/DeveloperGuide/DownloadDistValuesCacheBehavior.html#DownloadDistValuesPathPattern
        for path in paths:
            if not _CACHE_PATH_PATTERN.fullmatch(path) or path.removeprefix("/") == "*":
                raise ValueError(
                    f"{path!r} is not a CloudFront path pattern for a cache behaviour: 1-255 of "
                    "A-Z a-z 0-9 _ - . * ? $ / ~ \" ' @ : + &, not * alone (the default behaviour)"
                )
        # CloudFront treats a pattern the same with or without its leading slash, so "/a/*" and
        # "a/*" would be two behaviours for one set of requests.
        normalized = [path.removeprefix("/") for path in paths]
        if len(set(normalized)) != len(normalized):
            raise ValueError(f"lists a path pattern twice (a leading / makes no difference): {list(paths)}")
        return paths
