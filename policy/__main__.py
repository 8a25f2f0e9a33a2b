"""CrossGuard policy pack ``platform-guardrails``: ``pulumi preview --policy-pack policy``.

The rules live in ``rules.py`` and are shared with the unit tests; this module only adapts them to
the pulumi-policy SDK.

A policy's enforcement level is fixed when the pack starts, and it follows the stack's declared
topology: the engine starts the pack with the stack's merged configuration in ``PULUMI_CONFIG``,
as it does the program (pulumi/pulumi pkg/resource/plugin/analyzer_plugin.go, ``constructEnv``),
so the pack reads the same ``platform:topology`` the program builds from. A stack on the staging
topology gets staging's documented advisories whatever it is called (a ``dev`` stack copied from
staging just works); any other topology, or none, gets every rule mandatory.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from rules import RULES, TOPOLOGY_KEY, Enforcement, Rule, StackKind, StackResource, stack_kind

PACK_NAME = "platform-guardrails"
LEVELS: Mapping[Enforcement, EnforcementLevel] = {
    "mandatory": EnforcementLevel.MANDATORY,
    "advisory": EnforcementLevel.ADVISORY,
}


def declared_kind(config: Mapping[str, str]) -> StackKind:
    """The kind of stack its configuration (``PULUMI_CONFIG``) declares."""
    return stack_kind(config.get(TOPOLOGY_KEY))


def _resource_validation(rule: Rule, kind: StackKind):
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type not in rule.resource_types:
            return
        for message in rule.evaluate(args.resource_type, args.props, kind, protected=args.opts.protect):
            report_violation(message)

    return validate


def _stack_resource(resource: Any) -> StackResource:
    return StackResource(
        urn=resource.urn,
        type=resource.resource_type,
        props=resource.props,
        dependencies=frozenset(d.urn for d in resource.dependencies),
    )


def _stack_validation(rule: Rule, kind: StackKind):
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        if not args.resources:
            return
        for urn, message in rule.stack_check([_stack_resource(r) for r in args.resources], kind):
            report_violation(message, urn)

    return validate


def build_policies(kind: StackKind) -> list[Policy]:
    """One CrossGuard policy per rule, at the rule's level for ``kind``.

    Rules that need secret markers are left out: the SDK unwraps secrets before a policy runs,
    so those rules are enforced by the unit tests over the captured stacks instead.
    """
    policies: list[Policy] = []
    for rule in RULES:
        if rule.needs == "secrets":
            continue
        level = rule.enforcement(kind)
        description = rule.description
        if level == "advisory":
            description += f" (advisory on the staging topology: {rule.staging_exception})"
        if rule.stack_check is not None:
            policies.append(
                StackValidationPolicy(rule.name, description, _stack_validation(rule, kind), LEVELS[level])
            )
        else:
            policies.append(
                ResourceValidationPolicy(
                    rule.name, description, _resource_validation(rule, kind), LEVELS[level]
                )
            )
    return policies


if __name__ == "__main__":
    PolicyPack(
        PACK_NAME,
        policies=build_policies(declared_kind(pulumi.runtime.get_config_env())),
        enforcement_level=EnforcementLevel.MANDATORY,
    )
