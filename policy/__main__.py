"""CrossGuard policy pack ``platform-guardrails``: ``pulumi preview --policy-pack policy``.

The rules live in ``rules.py`` and are shared with the unit tests; this module only adapts them to
the pulumi-policy SDK.

A policy's enforcement level is fixed when the pack starts, but a rule may be mandatory on the
production stacks and advisory on staging. The SDK hands every validation the resource's URN,
which names the stack, so such a rule becomes two policies: ``<rule>`` (mandatory, checks the
production stacks) and ``<rule>-staging`` (advisory, checks staging). The pack therefore needs no
per-stack configuration, and no CI mistake can apply staging's leniency to production.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
from rules import RULES, STACK_KINDS, Enforcement, Rule, StackKind, StackResource, stack_kind, stack_of_urn

PACK_NAME = "platform-guardrails"
LEVELS: Mapping[Enforcement, EnforcementLevel] = {
    "mandatory": EnforcementLevel.MANDATORY,
    "advisory": EnforcementLevel.ADVISORY,
}


def _kinds_by_level(rule: Rule) -> dict[Enforcement, frozenset[StackKind]]:
    levels: dict[Enforcement, set[StackKind]] = {}
    for kind in STACK_KINDS:
        levels.setdefault(rule.enforcement(kind), set()).add(kind)
    return {level: frozenset(kinds) for level, kinds in levels.items()}


def _policy_name(rule: Rule, kinds: frozenset[StackKind]) -> str:
    return rule.name if "production" in kinds else f"{rule.name}-{'-'.join(sorted(kinds))}"


def _resource_validation(rule: Rule, kinds: frozenset[StackKind]):
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        kind = stack_kind(stack_of_urn(args.urn))
        if kind not in kinds or args.resource_type not in rule.resource_types:
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


def _stack_validation(rule: Rule, kinds: frozenset[StackKind]):
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        if not args.resources:
            return
        kind = stack_kind(stack_of_urn(args.resources[0].urn))
        if kind not in kinds:
            return
        for urn, message in rule.stack_check([_stack_resource(r) for r in args.resources], kind):
            report_violation(message, urn)

    return validate


def build_policies() -> list[Policy]:
    """One CrossGuard policy per rule and enforcement level.

    Rules that need secret markers are left out: the SDK unwraps secrets before a policy runs,
    so those rules are enforced by the unit tests over the captured stacks instead.
    """
    policies: list[Policy] = []
    for rule in RULES:
        if rule.needs == "secrets":
            continue
        for level, kinds in _kinds_by_level(rule).items():
            name = _policy_name(rule, kinds)
            description = rule.description
            if level == "advisory":
                description += f" (advisory on staging: {rule.staging_exception})"
            if rule.stack_check is not None:
                policies.append(
                    StackValidationPolicy(name, description, _stack_validation(rule, kinds), LEVELS[level])
                )
            else:
                policies.append(
                    ResourceValidationPolicy(
                        name, description, _resource_validation(rule, kinds), LEVELS[level]
                    )
                )
    return policies


if __name__ == "__main__":
    PolicyPack(PACK_NAME, policies=build_policies(), enforcement_level=EnforcementLevel.MANDATORY)
