"""How the recording mocks name resources: the engine's autonaming and the AWS provider's defaults.

``fake_id`` gives every mock id and name its deterministic stand-in for the random part.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
import json
import re
from dataclasses import dataclass
from typing import Any


def fake_id(*parts: str, length: int = 17) -> str:
    """Deterministic hex digits standing in for what a provider or the engine makes random."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


@dataclass(frozen=True)
class Autonaming:
    """``pulumi:autonaming`` as the engine resolves it before the program runs.

    The engine reads the key from the stack's merged config (pulumi/pulumi
    pkg/cmd/pulumi/autonaming/config.go ``ParseAutonamingConfig``) and replaces ``${project}`` and
    ``${stack}`` once (pattern.go ``resolveStackExpressions``); per resource it replaces
    ``${name}`` with the URN's name and ``${hex(n)}`` with n random hex digits
    (pkg/resource/autonaming/strategy.go ``generateName``) and proposes the result to the
    provider. ``pattern`` is None without the key: the provider's default naming applies.
    """

    pattern: str | None = None

    @classmethod
    def of(cls, value: Any, *, project: str, stack: str) -> Autonaming:
        if value is None:
            return cls()
        section = json.loads(value) if isinstance(value, str) else dict(value)
        # The mocks imitate the one form this project sets; other modes, per-provider or
        # per-resource sections would need their own imitation, so they are refused here.
        if set(section) != {"pattern"}:
            raise ValueError(
                f"pulumi:autonaming: the offline mocks imitate a root `pattern` only, not {section}"
            )
        pattern = section["pattern"].replace("${project}", project).replace("${stack}", stack)
        return cls(pattern)

    def propose(self, logical: str, digits: str) -> str | None:
        """The proposed name of a resource, ``digits`` standing in for the engine's random hex."""
        if self.pattern is None:
            return None
        name = re.sub(
            r"\$\{hex\((\d+)\)\}", lambda m: digits[: int(m[1])], self.pattern.replace("${name}", logical)
        )
        if "${" in name:
            raise ValueError(f"pulumi:autonaming: the offline mocks cannot expand {self.pattern!r}")
        return name


# The longest name an autonamed type takes when the engine proposes one. Under a pattern the
# bridge uses the proposed name as is and fails when it exceeds the property's AutoName maxlen
# (pulumi-terraform-bridge pkg/tfbridge/info/autonaming.go ComputeAutoNameDefault, propose mode:
# "calculated name ... exceeds maximum length"): 255 for every input `name` (pulumi-aws
# provider/autonaming.go setAutonaming), 64 for IAM roles (provider/resources.go aws_iam_role:
# AutoName("name", 64, "-")). IAM refuses inline policy names over 128 characters
# (docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html, character limits).
AUTONAME_MAX_LENGTH = {
    "aws:iam/role:Role": 64,
    "aws:iam/rolePolicy:RolePolicy": 128,
    "aws:iam/userPolicy:UserPolicy": 128,
}
DEFAULT_AUTONAME_MAX_LENGTH = 255


@functools.cache
def aws_autonames(typ: str) -> bool:
    """Whether the AWS provider names a resource of ``typ`` whose program sets no ``name``.

    pulumi-aws autonames every resource with an input property ``name`` (provider/autonaming.go
    setAutonaming), which makes the property optional in the SDK ("If a required property is
    configured with AutoName, it becomes optional in the Pulumi Package Schema",
    pulumi-terraform-bridge pkg/tfbridge/info/autonaming.go); a ``name`` the provider does not
    autoname stays required (e.g. Route 53 records'). So: the SDK's Args take an optional ``name``.
    """
    if not typ.startswith("aws:"):
        return False
    _, module, member = typ.split(":")
    package = module.split("/")[0]
    sdk = importlib.import_module("pulumi_aws" if package == "index" else f"pulumi_aws.{package}")
    parameter = inspect.signature(getattr(sdk, f"{member}Args").__init__).parameters.get("name")
    return parameter is not None and parameter.default is None
