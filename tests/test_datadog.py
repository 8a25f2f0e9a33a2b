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


def _run(settings: DatadogSettings, **extra) -> Run:
    def program() -> None:
        Datadog(
            "datadog",
            DatadogArgs(
                settings=settings,
                name_prefix="platform-prod",
                service_name="api",
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


def test_monitors_watch_the_services_p95_latency_and_error_rate(full: Run) -> None:
    monitors = {m["name"]: m for m in full.of_type(MONITOR)}
    assert len(monitors) == 2
    [latency] = [m for n, m in monitors.items() if "latency" in n]
    [errors] = [m for n, m in monitors.items() if "error rate" in n]
    assert "p95:trace.express.request{service:api,env:prod-commercial}" in latency["query"]
    assert ".errors{service:api,env:prod-commercial}" in errors["query"]
    assert ".hits{service:api,env:prod-commercial}" in errors["query"]
    for monitor in (latency, errors):
        # Datadog rejects a monitor whose critical threshold differs from the query's.
        assert monitor["query"].endswith(f"> {monitor['monitorThresholds']['critical']}")
        assert "@ops@example.com" in monitor["message"]
        assert {"service:api", "env:prod-commercial"} <= set(monitor["tags"])
        assert monitor["notifyNoData"] is False
    assert 0 < float(errors["monitorThresholds"]["critical"]) < 1  # a share of requests


def test_monitors_without_an_address_notify_nobody() -> None:
    run = _run(DatadogSettings(enabled=True, monitors=True))
    monitors = run.of_type(MONITOR)
    assert len(monitors) == 2
    assert all("@" not in m["message"] for m in monitors)
    assert run.of_type(ROLE) == [] and run.of_type(ACCOUNT) == []


def test_disabled_creates_no_datadog_or_iam_resources() -> None:
    run = _run(DatadogSettings(enabled=False, aws_integration=True, monitors=True))
    assert [r.type for r in run.resources] == ["platform:datadog:Datadog"]
    assert run.one("platform:datadog:Datadog").outputs.get("integration_role_arn") is None
