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
    environments: tuple[EnvironmentName, ...] = ("staging", "prod-precommercial", "prod-commercial")
    """GitHub environments, one per stack of the same name: each gets its own deploy role, trusted
    only by jobs of that environment, and (with ``stateBackend``) its own state prefix and key."""
    preview_stacks: tuple[EnvironmentName, ...] = ("staging",)
    """The non-production stacks pull requests preview against AWS; a subset of ``environments``."""
    preview_environment: EnvironmentName = "preview"
    """The GitHub environment of the pull-request preview jobs (it holds the read-only tokens)."""
    role_name_prefix: str = Field("platform-github", pattern=r"^[A-Za-z0-9+=,.@_-]{1,40}$")
    """Names of the roles and boundaries: ``<prefix>-preview``, ``<prefix>-<env>-deploy`` and
    ``<prefix>-<env>-boundary``."""
    managed_name_prefix: str = Field("platform", pattern=r"^[A-Za-z0-9+=,.@_-]{1,40}$")
    """The platform program names its IAM roles and policies ``<prefix>-<stack>-...``; each
    environment's deploy role may manage only its own stack's."""
    existing_oidc_provider_arn: str | None = Field(
        None, pattern=r"^arn:aws:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com$"
    )
    """An account has at most one provider per issuer URL: reuse it instead of creating one."""
    state_backend: bool = False
    """Create an S3 bucket and KMS keys for a self-managed Pulumi backend and secrets providers."""
    activate_stack_cost_tag: bool = False
    """Activate the ``stack`` cost-allocation tag the budgets filter on. Only in the account that
    pays the bill (the organization's management account), and only once Billing lists the tag
    (up to a day after the first tagged resource): before that the activation fails."""

    @model_validator(mode="after")
    def _environments_are_distinct(self) -> BootstrapSettings:
        if not self.environments:
            raise ValueError("environments must name at least one environment")
        if len(set(self.environments)) != len(self.environments):
            raise ValueError(f"environments lists one twice: {list(self.environments)}")
        # IAM and S3 grants are name patterns (`<prefix>-<env>-*`, `<env>/*`): one environment's
        # pattern must not cover another's names, nor the bootstrap's own roles.
        for env in self.environments:
            for other in self.environments:
                if other != env and other.startswith(f"{env}-"):
                    raise ValueError(
                        f"environments {env!r} and {other!r}: {self.managed_name_prefix}-{env}-* would "
                        f"also match {other}'s roles; rename one"
                    )
            if f"{self.managed_name_prefix}-{env}-".startswith(f"{self.role_name_prefix}-") or (
                f"{self.role_name_prefix}-".startswith(f"{self.managed_name_prefix}-{env}-")
            ):
                raise ValueError(
                    f"environments: {env!r} makes {self.managed_name_prefix}-{env}-* overlap the "
                    f"bootstrap's roles {self.role_name_prefix}-*"
                )
        if self.preview_environment in self.environments:
            raise ValueError(
                f"previewEnvironment {self.preview_environment!r} is also a deploy environment; "
                "pull requests must not run in one"
            )
        outside = sorted(set(self.preview_stacks) - set(self.environments))
        if outside:
            raise ValueError(f"previewStacks {outside} are not in environments {list(self.environments)}")
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
