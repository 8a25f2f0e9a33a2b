"""The only reader of ``pulumi.Config``: the stack's config, laid over its topology's preset,
validated into :class:`Settings`, every problem reported at once."""

from __future__ import annotations

import copy
import json
import typing
from collections.abc import Collection, Mapping
from typing import Any

import pulumi
from pydantic import SecretStr, ValidationError

from components.settings.checks import cross_check_problems
from components.settings.fields import (
    AWS_TOPOLOGIES,
    NAMESPACE,
    SECRET_LOOKING_ERROR,
    TOPOLOGIES,
    Section,
    SettingsError,
)
from components.settings.root import AWS_SECTIONS, MANAGED_SECTIONS, SECTIONS, Settings

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


def _secret_keys(model: type[Section]) -> frozenset[str]:
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
    if not loc or secret or loc[0] in secret_keys or error["type"] == SECRET_LOOKING_ERROR:
        return f"{key}: {message}"
    return f"{key}: {message} (got {error.get('input')!r})"


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

    sections: dict[str, Section] = {}
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
    problems = cross_check_problems(settings)
    if problems:
        raise SettingsError(problems)
    return settings


def _platform_config() -> dict[str, Any]:
    """Every key set in the ``platform`` namespace, parsed as Pulumi stores it."""
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
