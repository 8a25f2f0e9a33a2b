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
    service = services[0]
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
    parser.add_argument("--task-definition", required=True, help="ARN the stack applied (its output)")
    args = parser.parse_args(argv)
    problems = rollout_problems(json.load(sys.stdin), args.task_definition)
    for problem in problems:
        print(f"::error::{problem}")
    if not problems:
        print(f"release {args.task_definition} is running, rollout COMPLETED")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
