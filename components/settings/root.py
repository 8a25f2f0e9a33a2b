"""The ``Settings`` root: every section, validated, and what the program derives from them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from components.settings.aws import (
    ComputeSettings,
    DnsSettings,
    EdgeSettings,
    NetworkSettings,
    ScheduleSettings,
    SecuritySettings,
    StorageSettings,
)
from components.settings.cutover import CutoverSettings
from components.settings.data import AtlasSettings, BackupSettings, DatabaseSettings
from components.settings.fields import AWS_TOPOLOGIES, Section, SettingsError, Topology
from components.settings.managed import RenderSettings, SupabaseSettings, VercelSettings
from components.settings.observability import DatadogSettings, MonitoringSettings, SentrySettings
from components.settings.services import ServiceSettings, ServicesSettings

SECTIONS: dict[str, type[Section] | type[ServicesSettings]] = {
    "network": NetworkSettings,
    "dns": DnsSettings,
    "cutover": CutoverSettings,
    "security": SecuritySettings,
    "storage": StorageSettings,
    "compute": ComputeSettings,
    "services": ServicesSettings,
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
    {
        "network",
        "cutover",
        "security",
        "storage",
        "compute",
        "services",
        "schedule",
        "edge",
        "database",
        "datadog",
    }
)
MANAGED_SECTIONS = frozenset({"vercel", "render", "supabase", "backup"})


def entry_model(section: str) -> type[Section]:
    """The model of a section's keys; for ``services``, a map, that of one entry."""
    return ServiceSettings if section == "services" else SECTIONS[section]  # type: ignore[return-value]


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
    services_section: ServicesSettings
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
    def services(self) -> dict[str, ServiceSettings]:
        """The enabled ``platform:services`` entries (none in pre-commercial), by name."""
        return self.services_section.enabled if self.on_aws else {}

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
