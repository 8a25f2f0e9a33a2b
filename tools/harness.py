"""Run the Pulumi program offline: a committed stack file, the recording mocks, no CLI.

This is both the offline preview's engine and the whole-stack tests' fixture::

    run = run_stack("staging", {"platform:compute": {"cpu": 512, "memory": 1024}})
    [vpc] = run.of_type("aws:ec2/vpc:Vpc")
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pulumi.runtime import set_all_config, set_mocks
from pulumi.runtime.settings import ROOT, SETTINGS
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

from components.settings import deep_merge
from tools.mocks import Autonaming, Captured, RecordingMocks, RecordingMonitor, reveal

ROOT_DIR = Path(__file__).resolve().parent.parent
PROJECT = "platform"
SECRET_PLACEHOLDER = "[secret from stack file]"
# Well-formed stand-ins for encrypted settings whose shape the program validates; the port of the
# legacy database URL follows the section's legacyDatabasePort, as the real value must.
SECRET_STAND_INS = {
    "platform:cutover.legacyDatabaseUrl": "postgresql://preview:preview@pooler.invalid:{legacyDatabasePort}/postgres?sslmode=require",
    "platform:cutover.legacyMongodbUri": "mongodb+srv://preview:preview@cluster.invalid/app",
}
# Provider credentials the program itself reads; the offline preview stands in for any not set,
# as secrets, so a stack previews before anyone has the credentials.
PREVIEW_CREDENTIALS = {"datadog:apiKey": {"secure": "offline-preview"}}


def stack_names(root: Path = ROOT_DIR) -> list[str]:
    """The committed stacks: one ``Pulumi.<stack>.yaml`` each."""
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))


def stack_config(stack: str, root: Path = ROOT_DIR) -> dict[str, Any]:
    """The ``config:`` block of a committed stack file, keys fully qualified."""
    path = root / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise FileNotFoundError(f"no stack file {path.name}; committed stacks: {stack_names(root)}")
    document = yaml.safe_load(path.read_text()) or {}
    return dict(document.get("config") or {})


class StackConfigError(Exception):
    """The engine refused the stack's config before the program ran."""


def project_file(root: Path = ROOT_DIR) -> dict[str, Any]:
    """``Pulumi.yaml`` as the engine loads it."""
    return yaml.safe_load((root / "Pulumi.yaml").read_text()) or {}


def _is_secure(value: Any) -> bool:
    return isinstance(value, Mapping) and set(value) == {"secure"}


def _config_content(value: Any) -> Any:
    """What the engine type-checks a value as: an object or array stays structured, a secure
    value is its decrypted string, any other value was stored as its string."""
    if _is_secure(value):
        return SECRET_PLACEHOLDER
    if isinstance(value, (Mapping, list)):
        return value
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _is_valid_value(type_name: str, items: Mapping[str, Any] | None, value: Any) -> bool:
    """pulumi/pulumi sdk/go/common/workspace/project.go ``ValidateConfigValue``."""
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "integer":
        if isinstance(value, bool):
            return False
        if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
            return True
        return isinstance(value, str) and value.lstrip("+-").isdigit()
    if type_name == "boolean":
        return isinstance(value, bool) or value in ("true", "false")
    if type_name == "object":
        return isinstance(value, Mapping)
    if not isinstance(value, list) or items is None:
        return False
    return all(_is_valid_value(items["type"], items.get("items"), item) for item in value)


def _type_name(declaration: Mapping[str, Any]) -> str:
    """``InferFullTypeName``: ``array<string>`` for arrays."""
    items = declaration.get("items")
    return f"array<{_type_name(items)}>" if items else str(declaration["type"])


def _missing_keys_error(stack: str, missing: list[str]) -> StackConfigError:
    """``missingStackConfigurationKeysError`` with ``formatMissingKeys``."""
    quoted = [f"'{key}'" for key in sorted(missing)]
    keys = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]
    values = "value" if len(missing) == 1 else "values"
    return StackConfigError(f"Stack '{stack}' is missing configuration {values} {keys}")


# The attributes a config declaration may have: the project schema's ``configTypeDeclaration``
# sets ``additionalProperties: false`` (pulumi/pulumi sdk/go/common/workspace/project.json), so a
# structured value such as ``pulumi:autonaming``'s must sit under ``value``.
DECLARATION_ATTRIBUTES = ("default", "description", "items", "secret", "type", "value")


def validate_project(project: Mapping[str, Any]) -> None:
    """The config rules of ``ValidateProject``'s schema and ``Project.Validate`` (pulumi/pulumi
    sdk/go/common/workspace/project.go)."""
    name = project["name"]
    for key, declaration in (project.get("config") or {}).items():
        if not isinstance(declaration, Mapping):
            continue  # the shorthand `key: value` is a value, not a declaration
        for attribute in sorted(set(declaration) - set(DECLARATION_ATTRIBUTES)):
            allowed = ", ".join(f"'{a}'" for a in DECLARATION_ATTRIBUTES[:-1])
            raise StackConfigError(
                f"#/config/{key}: '{attribute}' not allowed; the allowed attributes are "
                f"{allowed} and '{DECLARATION_ATTRIBUTES[-1]}'"
            )
        if "default" in declaration and "value" in declaration:
            raise StackConfigError(
                f"project config '{key}' cannot have both a 'default' and 'value' attribute"
            )
        if ":" not in key or key.startswith(f"{name}:"):
            if declaration.get("type") == "array" and "items" not in declaration:
                raise StackConfigError(
                    f"The configuration key '{key}' declares an array but does not specify the "
                    "underlying type via the 'items' attribute"
                )
            if (
                "type" in declaration
                and "default" in declaration
                and not _is_valid_value(declaration["type"], declaration.get("items"), declaration["default"])
            ):
                raise StackConfigError(
                    f"The default value specified for configuration key '{key}' is not of the "
                    f"expected type '{_type_name(declaration)}'"
                )
        elif "type" in declaration:
            raise StackConfigError(
                f"Configuration key '{key}' is not namespaced by the project and should not define a type"
            )
        elif "default" in declaration:
            raise StackConfigError(
                f"Configuration key '{key}' is not namespaced by the project and should not define a "
                "default value. Did you mean to use the 'value' attribute instead of 'default'?"
            )
        elif "value" not in declaration:
            raise StackConfigError(
                f"Configuration key '{key}' is namespaced and must provide an attribute 'value'"
            )


def apply_project_config(stack: str, config: Mapping[str, Any], project: Mapping[str, Any]) -> dict[str, Any]:
    """The stack's config as the engine hands it to the program: what ``mergeConfig``
    (pulumi/pulumi pkg/workspace/config.go, run by ``ValidateStackConfigAndApplyProjectConfig``
    before every preview and update) makes of the stack file and ``Pulumi.yaml``.

    A declared key the stack leaves out takes the declaration's ``default`` or ``value``; a key of
    the project's namespace with neither is required, and every missing one is reported at once;
    explicitly typed keys are type-checked and keys declared ``secret`` must be encrypted.
    """
    validate_project(project)
    name = project["name"]
    merged = dict(config)
    missing: list[str] = []
    declarations = {
        key: declaration if isinstance(declaration, Mapping) else {"value": declaration}
        for key, declaration in (project.get("config") or {}).items()
    }
    for key in sorted(declarations):
        declaration = declarations[key]
        full_key = key if ":" in key else f"{name}:{key}"
        if full_key in merged:
            continue
        if "default" in declaration or "value" in declaration:
            merged[full_key] = declaration.get("default", declaration.get("value"))
        elif full_key.partition(":")[0] == name:
            missing.append(key)
    if missing:
        raise _missing_keys_error(stack, missing)
    for key in sorted(declarations):
        declaration = declarations[key]
        full_key = key if ":" in key else f"{name}:{key}"
        if full_key not in merged:
            continue
        if declaration.get("secret") and not _is_secure(merged[full_key]):
            raise StackConfigError(
                f"Stack '{stack}' with configuration key '{key}' must be encrypted as it's secret"
            )
        if "type" in declaration and not _is_valid_value(
            declaration["type"], declaration.get("items"), _config_content(merged[full_key])
        ):
            raise StackConfigError(
                f"Stack '{stack}' with configuration key '{key}' must be of type '{_type_name(declaration)}'"
            )
    return merged


def _engine_form(config: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """Config as the engine hands it to a Python program: strings, objects as JSON."""
    values: dict[str, str] = {}
    secret_keys: list[str] = []

    def unsecure(value: Any, path: str, siblings: Mapping[str, Any]) -> Any:
        if _is_secure(value):
            stand_in = SECRET_STAND_INS.get(path, SECRET_PLACEHOLDER)
            return stand_in.format_map({"legacyDatabasePort": 5432, **siblings})
        if isinstance(value, Mapping):
            return {k: unsecure(v, f"{path}.{k}", value) for k, v in value.items()}
        if isinstance(value, list):
            return [unsecure(v, path, {}) for v in value]
        return value

    def holds_secret(value: Any) -> bool:
        if isinstance(value, Mapping):
            return _is_secure(value) or any(holds_secret(v) for v in value.values())
        return isinstance(value, list) and any(holds_secret(v) for v in value)

    for key, value in config.items():
        # As the engine does: a secret anywhere inside a structured value makes the key secret.
        if holds_secret(value):
            secret_keys.append(key)
        plain = unsecure(value, key, {})
        if isinstance(plain, (Mapping, list)):
            values[key] = json.dumps(plain)
        elif isinstance(plain, bool):
            values[key] = "true" if plain else "false"
        else:
            values[key] = str(plain)
    return values, secret_keys


@dataclass
class Run:
    """What one program run registered."""

    stack: str
    config: dict[str, Any]
    resources: list[Captured]
    outputs: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    invokes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def of_type(self, type_: str) -> list[Captured]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name_contains: str = "") -> Captured:
        """The single resource of a type (whose logical name contains ``name_contains``)."""
        found = [r for r in self.of_type(type_) if name_contains in r.name]
        if len(found) != 1:
            raise AssertionError(
                f"expected one {type_} named *{name_contains}*, found {[r.name for r in found]}"
            )
        return found[0]

    def named(self, name: str) -> Captured:
        found = [r for r in self.resources if r.name == name]
        if len(found) != 1:
            raise AssertionError(f"expected one resource named {name}, found {len(found)}")
        return found[0]

    def by_urn(self, urn: str) -> Captured | None:
        return next((r for r in self.resources if r.urn == urn), None)

    def children(self, parent: Captured) -> list[Captured]:
        return [r for r in self.resources if r.parent == parent.urn]

    def component_of(self, resource: Captured) -> Captured | None:
        """The nearest ComponentResource above a resource."""
        parent = self.by_urn(resource.parent)
        while parent is not None and parent.custom:
            parent = self.by_urn(parent.parent)
        return parent

    def output(self, name: str) -> Any:
        return reveal(self.outputs[name])

    def types(self) -> set[str]:
        return {r.type for r in self.resources}


class _WarningCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _default_program() -> None:
    from components.settings import load_settings
    from components.topologies import build

    build(load_settings())


def run_stack(
    stack: str,
    overrides: Mapping[str, Any] | None = None,
    *,
    config: Mapping[str, Any] | None = None,
    program: Callable[[], None] = _default_program,
    project: str = PROJECT,
    root: Path = ROOT_DIR,
    preview: bool = True,
    engine_config: bool | None = None,
    zone_records: Sequence[Mapping[str, Any]] = (),
    iam_policies: Sequence[str] = (),
) -> Run:
    """Run ``program`` for ``stack`` under the recording mocks and return what it registered.

    ``config`` replaces the stack file's config; ``overrides`` are deep-merged over it (a key
    whose value is ``None`` is removed). ``preview=False`` runs it as ``pulumi up`` would.
    ``engine_config`` applies ``Pulumi.yaml`` the way the engine does before the program runs
    (:func:`apply_project_config`; a refusal raises :class:`StackConfigError`); it defaults to on
    for the project's own program and off for a test's component program, which, like Pulumi's
    unit tests, never passes through the engine. ``zone_records`` are the record sets the Route 53
    zones hold already (see ``RecordingMocks.zone_records``), ``iam_policies`` the customer-managed
    policies the account holds besides the bootstrap's boundaries. Raises whatever the program raises,
    after the mocks have recorded what was registered up to then (see :func:`last_run`).
    """
    base = dict(config) if config is not None else stack_config(stack, root)
    merged = deep_merge({**PREVIEW_CREDENTIALS, **base}, overrides or {})
    merged = {k: v for k, v in merged.items() if v is not None}
    if engine_config if engine_config is not None else program is _default_program:
        merged = apply_project_config(stack, merged, project_file(root))
    values, secret_keys = _engine_form(merged)
    region = str(merged.get("aws:region", "ap-northeast-1"))

    mocks = RecordingMocks(
        region, Autonaming.of(merged.get("pulumi:autonaming"), project=project, stack=stack)
    )
    mocks.zone_records = [dict(record) for record in zone_records]
    mocks.iam_policies = set(iam_policies)
    monitor = RecordingMonitor(mocks)
    collector = _WarningCollector()
    logger = logging.getLogger(f"platform.preview.{stack}")
    logger.propagate = False
    logger.handlers = [collector]
    logger.setLevel(logging.INFO)

    set_all_config(values, secret_keys)
    set_mocks(mocks, project=project, stack=stack, preview=preview, logger=logger, monitor=monitor)
    ROOT.set(None)  # run_in_stack creates the stack resource that collects the exports
    global _LAST
    _LAST = Run(stack, merged, [], {}, collector.messages, mocks.invokes)
    try:
        _sync_await(run_in_stack(program))
    except BaseException:
        _discard_leftovers()
        raise
    finally:
        _LAST.resources = list(monitor.captured.values())
        _LAST.outputs = monitor.stack_outputs
    return _LAST


def _discard_leftovers() -> None:
    """Drop the outputs a failed run left behind. The mocks keep the runtime's set of outputs
    from run to run (``set_mocks`` builds a ``MockSettings`` without a new one), and the runtime
    stops waiting at the first failed registration (pulumi/runtime/stack.py ``wait_for_rpcs``),
    so the next run would await the failed run's outputs and fail with its error."""
    SETTINGS.outputs.clear()


_LAST: Run | None = None


def last_run() -> Run | None:
    """The run most recently started by :func:`run_stack`, also when it raised."""
    return _LAST
