"""The only reader of ``pulumi.Config``: the stack's config, laid over its topology's preset,
validated into :class:`Settings`, every problem reported at once."""

from __future__ import annotations

import copy
import json
import typing
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import pulumi
import yaml
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
from components.settings.root import AWS_SECTIONS, MANAGED_SECTIONS, SECTIONS, Settings, entry_model

# The topology presets, one stack-file-shaped YAML file per topology at the repository's root:
# presets/<topology>.yaml, found from this file, not the working directory.
PRESETS_DIR = Path(__file__).resolve().parents[2] / "presets"


def load_presets(directory: Path = PRESETS_DIR) -> dict[str, dict[str, dict[str, Any]]]:
    """Each topology's preset as ``{section: {camelCaseKey: value}}``, read from
    ``<directory>/<topology>.yaml``, which holds a stack file's ``config:`` block of
    ``platform:<section>`` objects. The keys inside a section are checked when a stack is parsed."""
    presets: dict[str, dict[str, dict[str, Any]]] = {}
    for topology in TOPOLOGIES:
        path = directory / f"{topology}.yaml"
        document = yaml.safe_load(path.read_text())
        if not isinstance(document, dict) or set(document) != {"config"}:
            raise ValueError(f"{path}: must hold one `config:` block, as a stack file does")
        sections: dict[str, dict[str, Any]] = {}
        for key, values in (document["config"] or {}).items():
            namespace, _, section = key.partition(":")
            if namespace != NAMESPACE or section not in SECTIONS:
                raise ValueError(
                    f"{path}: {key} is not a section; allowed: {NAMESPACE}:<{'|'.join(SECTIONS)}>"
                )
            if not isinstance(values, dict):
                raise ValueError(f"{path}: {key} must be an object of keys")
            sections[section] = values
        presets[topology] = sections
    return presets


PRESETS = load_presets()


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
    if loc and loc[-1] == "[key]":  # a map's key itself (a service's name): report it as the entry
        loc = loc[:-1]
    location = ".".join(str(part) for part in loc)
    key = f"{NAMESPACE}:{section}" + (f".{location}" if location else "")
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        model, where = entry_model(section), f"{NAMESPACE}:{section}"
        if model is not SECTIONS[section]:  # a map's entry: the keys of one entry are allowed
            where += f".{loc[0]}"
        allowed = sorted(field.alias or name for name, field in model.model_fields.items())
        return f"{key}: unknown key; allowed keys in {where} are {allowed}"
    if error["type"] == "missing":
        return f"{key}: required, but not set"
    secret_keys = _secret_keys(entry_model(section))
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
    sections["services_section"] = sections.pop("services")
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
