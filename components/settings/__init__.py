"""Validated, typed settings: the one entry point to the stack's configuration.

Each stack file selects a topology with ``platform:topology``; the topology's preset supplies
every default, and the stack file overrides individual keys with Pulumi's structured config::

    config:
      platform:topology: staging
      platform:services:
        api:
          cpu: 512
          memory: 1024

Keys are camelCase in the stack file (``platform:services.api.desiredCount``) and snake_case in
Python. Every problem is collected and reported at once, naming the key as it is written in
the stack file, the bad value and what is allowed, before a single resource is registered.

The package, by concern: ``fields`` (vocabulary, domain tables, field types), the section models
by domain (``aws``, ``services``, ``cutover``, ``data``, ``observability``, ``managed``), ``root`` (the
``Settings`` model), ``checks`` (``CROSS_CHECKS``, the one table of rules across sections, and
``derived``, what its rows look at) and ``loader`` (the only reader of ``pulumi.Config``; it lays
the stack's config over the topology's preset, presets/<topology>.yaml). Import from here, not
from the modules.
"""

from components.settings.aws import (
    DATABASE_STOP_DELAY_MINUTES,
    ComputeSettings,
    DnsSettings,
    EdgeSettings,
    NetworkSettings,
    ScheduleSettings,
    SecuritySettings,
    StorageSettings,
)
from components.settings.checks import CROSS_CHECKS, CrossCheck, cutover_transition_problems
from components.settings.cutover import CUTOVER_HOSTS, CUTOVER_PHASES, CutoverHost, CutoverSettings
from components.settings.data import AtlasSettings, BackupSettings, DatabaseSettings
from components.settings.fields import (
    ATLAS_DEDICATED_TIERS,
    AWS_TOPOLOGIES,
    FARGATE_SIZES,
    LOG_RETENTION_DAYS,
    NAMESPACE,
    SUPABASE_POOLER_LIMITS,
    TOPOLOGIES,
    SettingsError,
    in_rfc1918,
)
from components.settings.loader import PRESETS, deep_merge, load_settings, parse_settings, placeholders
from components.settings.managed import RenderSettings, SupabaseSettings, VercelSettings
from components.settings.observability import DatadogSettings, MonitoringSettings, SentrySettings
from components.settings.root import AWS_SECTIONS, MANAGED_SECTIONS, SECTIONS, Settings, entry_model
from components.settings.services import (
    RESERVED_ENVIRONMENT,
    ServiceSettings,
    ServicesSettings,
    app_volume,
    rule_priority,
)

__all__ = [
    "ATLAS_DEDICATED_TIERS",
    "AWS_SECTIONS",
    "AWS_TOPOLOGIES",
    "CROSS_CHECKS",
    "CUTOVER_HOSTS",
    "CUTOVER_PHASES",
    "DATABASE_STOP_DELAY_MINUTES",
    "FARGATE_SIZES",
    "LOG_RETENTION_DAYS",
    "MANAGED_SECTIONS",
    "NAMESPACE",
    "PRESETS",
    "RESERVED_ENVIRONMENT",
    "SECTIONS",
    "SUPABASE_POOLER_LIMITS",
    "TOPOLOGIES",
    "AtlasSettings",
    "BackupSettings",
    "ComputeSettings",
    "CrossCheck",
    "CutoverHost",
    "CutoverSettings",
    "DatabaseSettings",
    "DatadogSettings",
    "DnsSettings",
    "EdgeSettings",
    "MonitoringSettings",
    "NetworkSettings",
    "RenderSettings",
    "ScheduleSettings",
    "SecuritySettings",
    "SentrySettings",
    "ServiceSettings",
    "ServicesSettings",
    "Settings",
    "SettingsError",
    "StorageSettings",
    "SupabaseSettings",
    "VercelSettings",
    "app_volume",
    "cutover_transition_problems",
    "deep_merge",
    "entry_model",
    "in_rfc1918",
    "load_settings",
    "parse_settings",
    "placeholders",
    "rule_priority",
]
