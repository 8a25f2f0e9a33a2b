"""Datadog under mocks: the integration role Datadog assumes, and the APM monitors."""

from __future__ import annotations

import json
import re

import pytest

from components.datadog import Datadog, DatadogArgs
from components.settings import DatadogSettings
from tools.harness import Run, run_stack

CONFIG = {"aws:region": "ap-northeast-1", "platform:topology": "commercial"}
ROLE = "aws:iam/role:Role"
ACCOUNT = "datadog:aws/integrationAccount:IntegrationAccount"
EXTERNAL_ID = "datadog:aws/integrationExternalId:IntegrationExternalId"
MONITOR = "datadog:index/monitor:Monitor"
# The root span of each service's requests, as dd-trace-js names them: the Express plugin's
# `express.request` for the NestJS API, and the Next.js plugin's `next.request` for the web
# (DataDog/dd-trace-js packages/datadog-plugin-next/src/index.js starts its server span with the
# v0 naming schema's operation name, packages/dd-trace/src/service-naming/schemas/v0/web.js
# `next: { opName: () => 'next.request' }`; packages/datadog-plugin-next/test/index.spec.js
# expects spans[0].name 'next.request').
SERVICES = {"api": "express.request", "web": "next.request"}


def _run(settings: DatadogSettings, **extra) -> Run:
    def program() -> None:
        Datadog(
            "datadog",
            DatadogArgs(
                settings=settings,
                name_prefix="platform-prod",
                services=SERVICES,
                env="prod-commercial",
                region="ap-northeast-1",
                **extra,
            ),
        )

    return run_stack("test", config=CONFIG, program=program)


@pytest.fixture(scope="module")
def full() -> Run:
    settings = DatadogSettings(enabled=True, aws_integration=True, monitors=True, site="ap1.datadoghq.com")
    return _run(settings, collect_us_east_1=True, alarm_email="ops@example.com")


def _trust(run: Run) -> dict:
    [statement] = json.loads(run.one(ROLE)["assumeRolePolicy"])["Statement"]
    return statement


def test_role_trusts_only_datadogs_account_with_the_integrations_external_id(full: Run) -> None:
    statement = _trust(full)
    external_id = full.one(EXTERNAL_ID).id
    assert statement["Effect"] == "Allow" and statement["Action"] == "sts:AssumeRole"
    # AP1 (Japan) is served from its own Datadog AWS account, not the US/EU 464622532012.
    assert statement["Principal"] == {"AWS": "arn:aws:iam::417141415827:root"}
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": external_id}}
    auth = full.one(ACCOUNT)["authConfig"]["awsAuthConfigRole"]
    assert auth == {"roleName": full.one(ROLE)["name"], "externalId": external_id}


@pytest.mark.parametrize(
    ("site", "account"),
    [
        ("datadoghq.com", "464622532012"),
        ("datadoghq.eu", "464622532012"),
        ("ap2.datadoghq.com", "412381753143"),
    ],
)
def test_trusted_datadog_account_follows_the_site(site: str, account: str) -> None:
    run = _run(DatadogSettings(enabled=True, aws_integration=True, site=site))
    assert _trust(run)["Principal"] == {"AWS": f"arn:aws:iam::{account}:root"}


def test_role_is_read_only_plus_security_audit(full: Run) -> None:
    [policy] = full.of_type("aws:iam/rolePolicy:RolePolicy")
    [statement] = json.loads(policy["policy"])["Statement"]
    actions = set(statement["Action"])
    assert {"cloudwatch:Get*", "cloudwatch:List*", "cloudwatch:Describe*", "tag:GetResources"} <= actions
    assert {"ecs:Describe*", "elasticloadbalancing:Describe*", "rds:Describe*"} <= actions
    writes = [a for a in actions if re.search(r":(Put|Create|Delete|Update|Publish|Attach|Set)", a)]
    assert writes == []
    assert not any(a.endswith(":*") for a in actions)
    [attachment] = full.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert attachment["policyArn"] == "arn:aws:iam::aws:policy/SecurityAudit"
    assert attachment["role"] == policy["role"] == full.one(ROLE)["name"]


def test_integration_covers_this_account_and_its_regions(full: Run) -> None:
    account = full.one(ACCOUNT)
    assert account["awsAccountId"] == "123456789012"
    assert account["awsPartition"] == "aws"
    assert account["awsRegions"] == {"includeOnlies": ["ap-northeast-1", "us-east-1"]}
    # Created only after the role and its permissions, which Datadog checks.
    role_urn = full.one(ROLE).urn
    assert role_urn in full.one(ACCOUNT).dependencies


def test_without_edge_the_integration_collects_only_the_stack_region() -> None:
    run = _run(DatadogSettings(enabled=True, aws_integration=True))
    assert run.one(ACCOUNT)["awsRegions"] == {"includeOnlies": ["ap-northeast-1"]}
    assert run.of_type(MONITOR) == []


def _monitors_of(run: Run, service: str) -> tuple[dict, dict]:
    """The service's latency and error-rate monitors, found by its tag."""
    mine = [m for m in run.of_type(MONITOR) if f"service:{service}" in m["tags"]]
    [latency] = [m for m in mine if "latency" in m["name"]]
    [errors] = [m for m in mine if "error rate" in m["name"]]
    assert len(mine) == 2, service
    return latency, errors


@pytest.mark.parametrize(("service", "span"), [("api", "express.request"), ("web", "next.request")])
def test_monitors_watch_each_services_p95_latency_and_error_rate(full: Run, service: str, span: str) -> None:
    latency, errors = _monitors_of(full, service)
    scope = f"{{service:{service},env:prod-commercial}}"
    assert f"p95:trace.{span}{scope}" in latency["query"]
    assert f"sum:trace.{span}.errors{scope}.as_count()" in errors["query"]
    assert f"sum:trace.{span}.hits{scope}.as_count()" in errors["query"]
    for monitor in (latency, errors):
        assert monitor["type"] == "query alert"
        # Datadog rejects a monitor whose critical threshold differs from the query's.
        assert monitor["query"].endswith(f"> {monitor['monitorThresholds']['critical']}")
        assert "@ops@example.com" in monitor["message"]
        assert {f"service:{service}", "env:prod-commercial"} <= set(monitor["tags"])
        assert monitor["name"].startswith("[platform-prod] ") and f" {service} " in monitor["name"]
        assert monitor["notifyNoData"] is False
    assert 0 < float(errors["monitorThresholds"]["critical"]) < 1  # a share of requests


def test_each_service_has_its_own_monitors_and_none_reads_anothers_spans(full: Run) -> None:
    monitors = full.of_type(MONITOR)
    assert len(monitors) == 4
    assert len({m["name"] for m in monitors}) == 4
    web_latency, web_errors = _monitors_of(full, "web")
    api_latency, api_errors = _monitors_of(full, "api")
    for monitor in (web_latency, web_errors):
        assert "express.request" not in monitor["query"] and "service:api" not in monitor["query"]
        assert "service:api" not in monitor["tags"]
    for monitor in (api_latency, api_errors):
        assert "next.request" not in monitor["query"] and "service:web" not in monitor["query"]
    ids = full.one("platform:datadog:Datadog").outputs["monitor_ids"]
    assert set(ids) == {"api-latency", "api-error-rate", "web-latency", "web-error-rate"}
    assert {m.id for m in monitors} == set(ids.values())


def test_monitors_without_an_address_notify_nobody() -> None:
    run = _run(DatadogSettings(enabled=True, monitors=True))
    monitors = run.of_type(MONITOR)
    assert len(monitors) == 4
    assert all("@" not in m["message"] for m in monitors)
    assert run.of_type(ROLE) == [] and run.of_type(ACCOUNT) == []


def test_disabled_creates_no_datadog_or_iam_resources() -> None:
    run = _run(DatadogSettings(enabled=False, aws_integration=True, monitors=True))
    assert [r.type for r in run.resources] == ["platform:datadog:Datadog"]
    assert run.one("platform:datadog:Datadog").outputs.get("integration_role_arn") is None
