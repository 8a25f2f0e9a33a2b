"""The deploy's rollout check over every service of a stack (tools/rollout.py --releases)."""

from __future__ import annotations

import io
import json

import pytest

from tools.rollout import main, releases_problems

API_RELEASE = "arn:aws:ecs:ap-northeast-1:123456789012:task-definition/platform-staging-api:7"
WEB_RELEASE = "arn:aws:ecs:ap-northeast-1:123456789012:task-definition/platform-staging-web:3"
RELEASES = {"platform-staging-api": API_RELEASE, "platform-staging-web": WEB_RELEASE}


def _service(name: str, task_definition: str, state: str = "COMPLETED", reason: str = "") -> dict:
    # The shape of DescribeServices' answer (API_DescribeServices.html, API_Deployment.html).
    return {
        "serviceName": name,
        "deployments": [
            {
                "status": "PRIMARY",
                "taskDefinition": task_definition,
                "rolloutState": state,
                "rolloutStateReason": reason,
            }
        ],
    }


def test_every_release_running_passes() -> None:
    described = {"services": [_service(n, t) for n, t in RELEASES.items()], "failures": []}
    assert releases_problems(described, RELEASES) == []


def test_one_rolled_back_service_fails_the_deploy_and_is_named() -> None:
    rolled_back = WEB_RELEASE.replace(":3", ":2")
    described = {
        "services": [
            _service("platform-staging-api", API_RELEASE),
            _service("platform-staging-web", rolled_back, "FAILED", "circuit breaker: tasks failed to start"),
        ]
    }
    problems = releases_problems(described, RELEASES)
    assert len(problems) == 2 and all(p.startswith("platform-staging-web: ") for p in problems)
    assert "rolled back" in problems[0] and "circuit breaker" in problems[1]


def test_a_service_ecs_did_not_describe_fails() -> None:
    described = {
        "services": [_service("platform-staging-api", API_RELEASE)],
        "failures": [{"arn": "platform-staging-web", "reason": "MISSING"}],
    }
    [problem] = releases_problems(described, RELEASES)
    assert problem.startswith("service platform-staging-web was not described") and "MISSING" in problem


@pytest.mark.parametrize(("web_state", "code"), [("COMPLETED", 0), ("IN_PROGRESS", 1)])
def test_the_command_line_checks_the_stacks_releases_output(
    web_state: str, code: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    described = {
        "services": [
            _service("platform-staging-api", API_RELEASE),
            _service("platform-staging-web", WEB_RELEASE, web_state, "tasks are starting"),
        ]
    }
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(described)))
    assert main(["--releases", json.dumps(RELEASES)]) == code
    out = capsys.readouterr().out
    assert ("::error::platform-staging-web: rollout IN_PROGRESS" in out) == (code == 1)
