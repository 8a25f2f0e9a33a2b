"""Fail a deploy whose release did not become the service's running deployment.

`pulumi up` waits for the ECS service to be steady (components/service.py), but a deployment the
circuit breaker rolled back is steady too, on the previous task definition
(hashicorp/terraform-provider-aws#19519). After `pulumi up`, the deploy workflow pipes
``aws ecs describe-services`` into this module with the task definition the stack applied::

    aws ecs describe-services --cluster C --services S --output json \\
      | python -m tools.rollout --task-definition arn:aws:ecs:...:task-definition/family:7

It exits 1, naming the reason ECS gives, unless the PRIMARY deployment runs that task definition
and its rolloutState is COMPLETED (API_Deployment.html: rolloutState COMPLETED | FAILED |
IN_PROGRESS, rolloutStateReason).

A stack runs several services; its ``releases`` output maps each ECS service to the task
definition it applied, and ``--releases`` checks every one of them in one describe-services
answer (up to 10 services per call, DescribeServices ``services``)::

    aws ecs describe-services --cluster C --services $(jq -r 'keys[]' <<<"$RELEASES") \
      | python -m tools.rollout --releases "$RELEASES"
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from typing import Any


def rollout_problems(described: Mapping[str, Any], task_definition: str) -> list[str]:
    """Why the release is not the one running (empty: it is)."""
    services = described.get("services") or []
    if len(services) != 1:
        failures = described.get("failures") or []
        return [f"expected one service, got {len(services)} (failures: {failures})"]
    return _service_problems(services[0], task_definition)


def releases_problems(described: Mapping[str, Any], releases: Mapping[str, str]) -> list[str]:
    """Why any of the releases (ECS service name -> task definition) is not the one running."""
    by_name = {service.get("serviceName"): service for service in described.get("services") or []}
    problems = []
    for name, task_definition in sorted(releases.items()):
        if name not in by_name:
            failures = described.get("failures") or []
            problems.append(f"service {name} was not described (failures: {failures})")
            continue
        problems += [f"{name}: {problem}" for problem in _service_problems(by_name[name], task_definition)]
    return problems


def _service_problems(service: Mapping[str, Any], task_definition: str) -> list[str]:
    primary = [d for d in service.get("deployments") or [] if d.get("status") == "PRIMARY"]
    if not primary:
        return [f"service {service.get('serviceName')} has no PRIMARY deployment"]
    deployment = primary[0]
    problems = []
    if deployment.get("taskDefinition") != task_definition:
        problems.append(
            f"the service runs {deployment.get('taskDefinition')}, not the release {task_definition}: "
            "the deployment was rolled back"
        )
    state = deployment.get("rolloutState")
    if state != "COMPLETED":
        problems.append(f"rollout {state}: {deployment.get('rolloutStateReason', 'no reason given')}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    released = parser.add_mutually_exclusive_group(required=True)
    released.add_argument("--task-definition", help="ARN the stack applied to the one service described")
    released.add_argument("--releases", help="JSON: ECS service name -> task definition (the stack's output)")
    args = parser.parse_args(argv)
    described = json.load(sys.stdin)
    if args.releases is not None:
        releases = json.loads(args.releases)
        problems = releases_problems(described, releases)
        done = f"releases of {', '.join(sorted(releases))} are running, rollouts COMPLETED"
    else:
        problems = rollout_problems(described, args.task_definition)
        done = f"release {args.task_definition} is running, rollout COMPLETED"
    for problem in problems:
        print(f"::error::{problem}")
    if not problems:
        print(done)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
