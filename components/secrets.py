"""The stack's secrets: one KMS-encrypted SSM SecureString parameter per value, read by the tasks given it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.outputs import publish

ENV_VAR_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
PARAMETER_PREFIX = re.compile(r"^(/[A-Za-z0-9_.-]+)+$")


@dataclass(frozen=True)
class SecretParametersArgs:
    parameter_prefix: str
    """SSM path the parameters live under, e.g. ``/platform/staging`` (no trailing slash)."""
    kms_key_arn: pulumi.Input[str]
    """The stack's customer-managed key; every parameter is encrypted with it."""
    values: Mapping[str, pulumi.Input[str]]
    """Environment-variable name -> secret value, e.g. ``{"DATABASE_URL": db.url}``. Values are
    made Pulumi secrets here even if the caller passed them in the clear."""


class SecretParameters(pulumi.ComponentResource):
    """SSM SecureString parameters ``<parameter_prefix>/<KEY>``, one per entry of ``values``."""

    arns: dict[str, pulumi.Output[str]]
    """Key -> parameter ARN (what an ECS container definition's ``secrets`` references)."""
    names: dict[str, pulumi.Output[str]]
    """Key -> parameter name."""

    def __init__(self, name: str, args: SecretParametersArgs, opts: pulumi.ResourceOptions | None = None):
        if not PARAMETER_PREFIX.fullmatch(args.parameter_prefix):
            raise ValueError(
                f"parameter_prefix {args.parameter_prefix!r} must be an SSM path such as /platform/staging "
                "(leading slash, no trailing slash)"
            )
        bad_keys = sorted(key for key in args.values if not ENV_VAR_NAME.fullmatch(key))
        if bad_keys:
            raise ValueError(
                f"secret names {bad_keys} are not environment-variable names (^[A-Z][A-Z0-9_]*$, "
                "e.g. DATABASE_URL)"
            )

        super().__init__("platform:secrets:SecretParameters", name, None, opts)
        arns: dict[str, pulumi.Output[str]] = {}
        names: dict[str, pulumi.Output[str]] = {}
        for key, value in sorted(args.values.items()):
            parameter = aws.ssm.Parameter(
                f"{name}-{key.lower().replace('_', '-')}",
                name=f"{args.parameter_prefix}/{key}",
                description=f"{key} for the tasks given it (injected by ECS, never in plain environment)",
                type=aws.ssm.ParameterType.SECURE_STRING,
                key_id=args.kms_key_arn,
                value=pulumi.Output.secret(value),
                # Standard is free and holds 4 KB, plenty for URLs, DSNs and API keys.
                tier="Standard",
                opts=pulumi.ResourceOptions(parent=self),
            )
            arns[key] = parameter.arn
            names[key] = parameter.name
        publish(self, arns=arns, names=names)
