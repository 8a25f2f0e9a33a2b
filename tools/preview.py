"""Offline preview: what a stack would build, with no cloud account, CLI or credentials.

    python -m tools.preview staging [--json out/staging.json] [--mermaid out/staging.mmd]

Runs the program with the committed ``Pulumi.<stack>.yaml`` under the recording mocks and prints
the resources as a tree by component with their key properties, the stack outputs, the monthly
cost estimate against the stack's budget, the policy results and any warnings. Exits non-zero
when the program fails (e.g. invalid config) or a mandatory policy is violated.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from pulumi.output import Unknown

from components.schedule import horizon, local_now, upcoming_closed_weekdays
from components.settings import NAMESPACE, Settings, parse_settings
from tools import cost
from tools.harness import PROJECT, Run, run_stack, stack_names
from tools.mocks import Captured, Secret

# Inputs worth a glance in the tree, in display order.
KEY_PROPERTIES = (
    "cidrBlock", "availabilityZone", "vpcEndpointType", "serviceName", "instanceType", "instanceClass",
    "engine", "engineVersion", "engineMode", "allocatedStorage", "storageEncrypted", "multiAz",
    "publiclyAccessible", "deletionProtection", "backupRetentionPeriod", "cpu", "memory", "desiredCount",
    "launchType", "internal", "loadBalancerType", "port", "protocol", "sslPolicy", "retentionInDays",
    "enableKeyRotation", "type", "tier", "scope", "region", "minCapacity", "maxCapacity", "schedule",
    "scheduleExpression", "timezone", "scheduleExpressionTimezone", "priceClass", "httpVersion",
    "imageTagMutability", "metricName", "threshold", "providerName", "clusterType", "framework",
    "plan", "limitAmount", "cidrIpv4", "fromPort", "toPort", "referencedSecurityGroupId",
    "waitForSteadyState", "destination", "logGroup", "filterPattern",
)  # fmt: skip


def settings_of(run: Run) -> Settings:
    """The validated settings of a run's config."""
    platform = {
        key.split(":", 1)[1]: value for key, value in run.config.items() if key.startswith(f"{NAMESPACE}:")
    }
    return parse_settings(platform, project=PROJECT, stack=run.stack, region=run.config.get("aws:region"))


# A value the engine only knows after ``pulumi up`` (e.g. a lookup that waits on a new resource).
COMPUTED = "[known after apply]"


def _short(value: Any) -> str:
    if isinstance(value, Secret):
        return "[secret]"
    if isinstance(value, Unknown):
        return COMPUTED
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = json.dumps(value, default=repr) if isinstance(value, (dict, list)) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _properties(resource: Captured) -> str:
    shown = [f"{k}={_short(resource.inputs[k])}" for k in KEY_PROPERTIES if k in resource.inputs]
    flags = [
        flag for flag, on in (("protect", resource.protect), ("retain", resource.retain_on_delete)) if on
    ]
    if resource.ignore_changes:
        flags.append("ignoreChanges=" + ",".join(resource.ignore_changes))
    return "  ".join(shown + [f"[{f}]" for f in flags])


def tree(run: Run) -> list[str]:
    """The resources as an indented tree under their components."""
    children: dict[str, list[Captured]] = {}
    for resource in run.resources:
        children.setdefault(resource.parent, []).append(resource)
    known = {r.urn for r in run.resources}
    roots = [r for r in run.resources if r.parent not in known]
    lines: list[str] = []

    def walk(resource: Captured, depth: int) -> None:
        kind = resource.type if resource.custom else f"component {resource.type}"
        props = _properties(resource)
        lines.append(f"{'  ' * depth}{resource.name}  ({kind}){'  ' + props if props else ''}")
        for child in sorted(children.get(resource.urn, []), key=lambda r: (r.custom, r.type, r.name)):
            walk(child, depth + 1)

    for root in sorted(roots, key=lambda r: (r.custom, r.name)):
        walk(root, 0)
    return lines


def policy_results(run: Run) -> tuple[list[str], list[str]]:
    """(mandatory violations, advisory findings) of the policy pack's rules, if it is present."""
    try:
        from policy import rules
    except ImportError:
        return [], []
    return rules.evaluate(run)


def mermaid(run: Run) -> str:
    """A Mermaid flowchart of the components and their resources' types."""
    lines = ["flowchart TB"]
    ids = {r.urn: f"n{i}" for i, r in enumerate(run.resources)}
    for resource in run.resources:
        if not resource.custom:
            lines.append(f'  {ids[resource.urn]}["{resource.name}<br/>{resource.type}"]')
            parent = ids.get(resource.parent)
            if parent:
                lines.append(f"  {parent} --> {ids[resource.urn]}")
    return "\n".join(lines) + "\n"


def as_json(run: Run) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, Secret):
            return "[secret]"
        if isinstance(value, Unknown):
            return COMPUTED
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return {
        "stack": run.stack,
        "outputs": plain(run.outputs),
        "warnings": run.warnings,
        "resources": [
            {
                "urn": r.urn,
                "type": r.type,
                "name": r.name,
                "parent": r.parent,
                "protect": r.protect,
                "ignoreChanges": list(r.ignore_changes),
                "inputs": plain(r.inputs),
            }
            for r in run.resources
        ],
    }


def _calendar(settings: Settings) -> list[str]:
    """The business-hours horizon and the next closed days that would otherwise be working days:
    what this `pulumi up` schedules (a December run already covers most of next year)."""
    schedule = settings.schedule
    if not (settings.on_aws and schedule.enabled):
        return []
    today = local_now(schedule).date()
    first, end = horizon(schedule, today)
    lines = [
        "",
        f"Business hours ({schedule.mode}, {schedule.weekdays} {schedule.start}-{schedule.stop} "
        f"{schedule.timezone}): schedules for {first:%Y-%m} to {end - timedelta(days=1):%Y-%m}; "
        "next closed weekdays:",
    ]
    lines += [f"  {day} {day:%a}  {name}" for day, name in upcoming_closed_weekdays(schedule, today, 10)]
    return lines


def render(run: Run, elapsed: float) -> tuple[str, bool]:
    """The preview report, and whether the stack passes (no mandatory policy violation)."""
    settings = settings_of(run)
    components = [r for r in run.resources if not r.custom]
    out = [
        f"platform offline preview: stack {run.stack} (topology {settings.topology}"
        + (f", region {settings.region}" if settings.on_aws else "")
        + f") -- {len(run.resources) - len(components)} resources in {len(components)} components, {elapsed:.1f} s",
        "",
        *tree(run),
        "",
        "Outputs:",
        *(f"  {k} = {_short(v)}" for k, v in sorted(run.outputs.items())),
    ]
    estimate = cost.estimate(run, settings)
    out += ["", f"Monthly cost estimate (USD, {'AWS Tokyo' if settings.on_aws else 'vendor'} list prices):"]
    width = max(len(line.item) for line in estimate.lines)
    out += [f"  {line.item:<{width}}  {line.monthly_usd:>8.2f}   {line.basis}" for line in estimate.lines]
    verdict = "within" if estimate.within_budget else "OVER"
    out.append(
        f"  {'total':<{width}}  {estimate.total:>8.2f}   {verdict} the budget of ${estimate.budget_usd:.0f}"
    )
    out += _calendar(settings)
    if estimate.comparisons:
        out += ["", "Ways out of the private subnets at this stack's traffic (per month):"]
        out += [f"  {c}" for c in estimate.comparisons]
    mandatory, advisory = policy_results(run)
    out += ["", f"Policy: {len(mandatory)} mandatory violations, {len(advisory)} advisory findings"]
    out += [f"  MANDATORY {m}" for m in mandatory] + [f"  advisory  {a}" for a in advisory]
    if run.warnings:
        out += ["", "Warnings:", *(f"  {w}" for w in run.warnings)]
    return "\n".join(out) + "\n", not mandatory


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Offline preview of a stack under the recording mocks.")
    parser.add_argument("stack", help=f"one of {', '.join(stack_names())}")
    parser.add_argument("--json", type=Path, help="write the captured resource graph to this file")
    parser.add_argument("--mermaid", type=Path, help="write a Mermaid diagram of the components to this file")
    args = parser.parse_args(argv)
    if args.stack not in stack_names():
        parser.error(f"unknown stack {args.stack!r}; committed stacks: {', '.join(stack_names())}")
    started = time.perf_counter()
    try:
        run = run_stack(args.stack)
    except Exception as error:  # any program failure, invalid config included, is the preview's result
        print(f"preview of {args.stack} failed: {error}", file=sys.stderr)
        return 1
    report, passed = render(run, time.perf_counter() - started)
    sys.stdout.write(report)
    for path, text in (
        (args.json, lambda: json.dumps(as_json(run), indent=2)),
        (args.mermaid, lambda: mermaid(run)),
    ):
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text())
    return 0 if passed else 2


if __name__ == "__main__":
    raise SystemExit(main())
