"""The observability sections: CloudWatch monitoring, Sentry and Datadog."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from components.settings.fields import Email, ImageRef, LogRetention, Section


class MonitoringSettings(Section):
    """``platform:monitoring``: alarms, notifications and the cost budget."""

    alarm_email: Email | None = None
    """Address subscribed to the alarm topic (confirm the subscription e-mail once)."""
    monthly_budget_usd: float = Field(70, gt=0, le=100000)
    """AWS Budgets alert threshold; the offline preview compares its estimate with it."""
    dashboard: bool = False
    """A CloudWatch dashboard of the service, load balancer, database and edge."""
    log_retention_days: LogRetention = 30
    """Days other log groups of the stack are kept."""


class SentrySettings(Section):
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


# or parentheses, hence `.` for the quote (docs.aws.amazon.com/AmazonCloudWatch/latest/logs/
# regex-expressions.html: allowed symbols and operators).
DATADOG_LOGS_PATTERN = "%ERROR|WARN|FATAL|level.:[4-6]0|level.:.error|level.:.warn|level.:.fatal%"


class DatadogSettings(Section):
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
    """Datadog monitors for each service's latency and error rate."""
    agent_image: ImageRef = "public.ecr.aws/datadog/agent:7"
    """Datadog agent image of the sidecar."""
    logs: bool = False
    """Ship the API's container logs and the database logs to Datadog (CloudWatch Logs subscription
    filters into Amazon Data Firehose; the API key from Secrets Manager). CloudWatch Logs stays the
    system of record."""
    logs_filter_pattern: str = Field(DATADOG_LOGS_PATTERN, max_length=1024)
    """CloudWatch Logs filter pattern of each service's lines sent to Datadog ("" sends every line);
    the default sends warnings and errors (Nest's text levels, pino's numeric and winston's named
    JSON levels). Every line stays in CloudWatch."""

    @model_validator(mode="after")
    def _valid(self) -> DatadogSettings:
        if self.logs and not self.enabled:
            raise ValueError("logs needs enabled: the log path uses the datadog:apiKey of an enabled Datadog")
        return self
