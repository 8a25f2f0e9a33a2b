"""Validated settings of the bootstrap project: every ``bootstrap:`` key, checked up front."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping
from typing import Annotated, Any

import pulumi
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

NAMESPACE = "bootstrap"


def _check_repository(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", value):
        raise ValueError("must be the GitHub repository as owner/name, e.g. acme/platform")
    return value


# GitHub environment names may hold spaces and most punctuation, but an OIDC subject is matched
# literally, so keep to the characters the workflows use.
EnvironmentName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,255}$")]


class BootstrapSettings(BaseModel):
    """The ``bootstrap`` namespace of ``bootstrap/Pulumi.<stack>.yaml``."""

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True, validate_default=True
    )

    github_repository: Annotated[str, AfterValidator(_check_repository)]
    """The repository whose workflows may assume the roles, ``owner/name``."""
    main_branch: str = Field("main", pattern=r"^[A-Za-z0-9_./-]{1,255}$")
    allow_main_branch: bool = True
    """Let a job on the main branch without an environment (the staging deploy) assume the deploy role.
    Set false in an account that holds production only: then only the protected environments can."""
    environments: tuple[EnvironmentName, ...] = ("prod-precommercial", "prod-commercial")
    """GitHub environments (with required reviewers) whose jobs may assume the deploy role."""
    role_name_prefix: str = Field("platform-github", pattern=r"^[A-Za-z0-9+=,.@_-]{1,40}$")
    """Names of the two roles: ``<prefix>-preview`` and ``<prefix>-deploy``."""
    managed_name_prefix: str = Field("platform", pattern=r"^[A-Za-z0-9+=,.@_-]{1,40}$")
    """The platform program names its IAM roles and policies ``<prefix>-<stack>-...``; the deploy
    role may manage only those."""
    existing_oidc_provider_arn: str | None = Field(
        None, pattern=r"^arn:aws:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com$"
    )
    """An account has at most one provider per issuer URL: reuse it instead of creating one."""
    state_backend: bool = False
    """Create an S3 bucket and KMS key for a self-managed Pulumi backend and secrets provider."""

    @model_validator(mode="after")
    def _someone_can_deploy(self) -> BootstrapSettings:
        if not self.allow_main_branch and not self.environments:
            raise ValueError("with allowMainBranch false, environments must name at least one environment")
        if len(set(self.environments)) != len(self.environments):
            raise ValueError(f"environments lists one twice: {list(self.environments)}")
        return self


class BootstrapSettingsError(pulumi.RunError):
    """Invalid bootstrap configuration; raised before any resource is registered."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid bootstrap configuration:\n" + "\n".join(f"  - {p}" for p in problems))


def parse_settings(raw: Mapping[str, Any]) -> BootstrapSettings:
    """Validate the ``bootstrap`` keys (without the namespace); every problem is reported at once."""
    try:
        return BootstrapSettings.model_validate(dict(raw))
    except ValidationError as error:
        problems = []
        allowed = sorted(field.alias or name for name, field in BootstrapSettings.model_fields.items())
        for e in error.errors():
            key = f"{NAMESPACE}:" + ".".join(str(part) for part in e["loc"])
            if e["type"] == "extra_forbidden":
                problems.append(f"{key}: unknown key; allowed keys are {allowed}")
            elif e["type"] == "missing":
                problems.append(f"{key}: required, but not set")
            else:
                message = e["msg"].removeprefix("Value error, ")
                shown = f" (got {e['input']!r})" if e["loc"] else ""
                problems.append(f"{key if e['loc'] else NAMESPACE}: {message}{shown}")
        raise BootstrapSettingsError(problems) from None


def load_settings() -> BootstrapSettings:
    """Read every ``bootstrap:`` key of the current stack and validate it."""
    raw = {**pulumi.runtime.get_config_env(), **pulumi.runtime.config.CONFIG.get()}
    values: dict[str, Any] = {}
    for full_key, value in raw.items():
        namespace, _, key = full_key.partition(":")
        if namespace != NAMESPACE:
            continue
        # The engine hands lists and booleans over as JSON text.
        if isinstance(value, str) and (value[:1] in "{[" or value in ("true", "false")):
            with contextlib.suppress(json.JSONDecodeError):
                value = json.loads(value)
        values[key] = value
    return parse_settings(values)
