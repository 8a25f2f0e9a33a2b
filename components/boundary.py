"""Every IAM role the program creates carries its stack's permissions boundary.

The stack's deploy role (bootstrap/github_oidc.py) may create, or widen, a role only when the role
carries that boundary, so a role without it would fail at CreateRole. One stack transformation,
registered before the first resource, sets it on every ``aws:iam/role:Role``: no component has to
remember it, and a role added later is covered too.

It is a (legacy) stack *transformation* rather than ``pulumi.runtime.register_resource_transform``:
a transformation runs inside this process when a resource is constructed, so the engine and the
offline mocks see the same inputs. A resource *transform* is called back by the engine through
its callback server; the SDK's mock monitor records registered transforms but never runs them
(pulumi/runtime/mocks.py, ``Mocks.register_transform``), so the tests would not see the boundary.
Transformations do not reach children of remote (multi-language) components; the program has none.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.settings import NAMESPACE, SettingsError

ROLE_TYPE = "aws:iam/role:Role"


def boundary_arn(policy: str | None, *, project: str, stack: str) -> str:
    """The boundary's ARN, checked to exist before any resource is registered: ``policy`` as
    given (ARN), a policy name in this account, or the bootstrap's default name for the stack.
    Without it every CreateRole would fail halfway through the first `pulumi up`, after the keys
    and the network exist."""
    if policy and policy.startswith("arn:"):
        arn = policy
    else:
        name = policy or f"{project}-github-{stack}-boundary"
        arn = f"arn:aws:iam::{aws.get_caller_identity().account_id}:policy/{name}"
    try:
        aws.iam.get_policy(arn=arn)
    except Exception as error:  # the provider's lookup error, reported as a config problem
        raise SettingsError(
            [
                f"{NAMESPACE}:security.permissionsBoundary: no IAM policy {arn} in this account "
                f"({error}); run the bootstrap for stack {stack!r} (bootstrap/) or name the "
                "boundary policy its deploy role requires"
            ]
        ) from error
    return arn


def bound_every_role(arn: pulumi.Input[str]) -> None:
    """Register the transformation; call it before the first resource is constructed."""

    def transformation(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        if args.type_ != ROLE_TYPE:
            return None
        if args.props.get("permissions_boundary") is not None:
            # One boundary per stack: a component setting its own would escape the deploy role's
            # condition and fail at CreateRole.
            raise AssertionError(f"{args.name} sets its own permissions boundary; the stack sets it")
        return pulumi.ResourceTransformationResult({**args.props, "permissions_boundary": arn}, args.opts)

    pulumi.runtime.register_stack_transformation(transformation)
