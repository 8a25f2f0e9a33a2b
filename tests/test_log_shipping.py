"""The log path to Datadog, the integration's scope and the release check, on the committed
commercial stack (and staging, which ships nothing)."""

from __future__ import annotations

import json

import pytest

from components.settings import SettingsError
from tests.conftest import committed_run
from tools.cost import estimate, log_shipping_line
from tools.harness import SECRET_PLACEHOLDER, Run, last_run, run_stack
from tools.mocks import Secret
from tools.preview import settings_of
from tools.rollout import main as rollout_main
from tools.rollout import rollout_problems

STREAM = "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream"
FILTER = "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter"
# Datadog's AP1 log intake for Firehose, as AWS CDK's DatadogEndpoint.LOGS_AP1 and Datadog's guide
# ("send-aws-services-logs-with-the-datadog-kinesis-firehose-destination") give it.
AP1_INTAKE = (
    "https://aws-kinesis-http-intake.logs.ap1.datadoghq.com/api/v2/logs?dd-protocol=aws-kinesis-firehose"
)


@pytest.fixture(scope="module")
def commercial() -> Run:
    return committed_run("prod-commercial")


def _stream_of(run: Run, arn: str):
    return next(s for s in run.of_type(STREAM) if s.outputs.get("arn") == arn)


def test_container_and_database_log_groups_feed_their_own_datadog_stream(commercial: Run) -> None:
    routes = {
        f["logGroup"]: _stream_of(commercial, f["destinationArn"])["name"] for f in commercial.of_type(FILTER)
    }
    assert routes == {
        "/platform/prod-commercial/api": "platform-prod-commercial-api-datadog",
        "/platform/prod-commercial/web": "platform-prod-commercial-web-datadog",
        "/aws/rds/cluster/platform-prod-commercial-db/postgresql": "platform-prod-commercial-database-datadog",
    }


def _tags(stream) -> dict[str, str]:
    http = stream["httpEndpointConfiguration"]
    return {a["name"]: a["value"] for a in http["requestConfiguration"]["commonAttributes"]}


def test_streams_deliver_to_datadogs_ap1_intake_with_the_sources_tags(commercial: Run) -> None:
    for stream in commercial.of_type(STREAM):
        http = stream["httpEndpointConfiguration"]
        assert stream["destination"] == "http_endpoint"
        assert http["url"] == AP1_INTAKE
        tags = _tags(stream)
        assert tags["env"] == "prod-commercial"
        assert tags["service"] in {"api", "web", "postgresql"}
        # Failed deliveries are kept, encrypted with the stack key, in the backup bucket.
        assert http["s3BackupMode"] == "FailedDataOnly"
        assert http["s3Configuration"]["kmsKeyArn"].startswith("arn:aws:kms:ap-northeast-1:")


def test_each_log_group_ships_through_its_own_stream_tagged_with_its_service(commercial: Run) -> None:
    # Datadog turns Firehose's common attributes into tags (the guide above); `source: nodejs`
    # selects Datadog's Node.js log pipeline and `postgresql` its PostgreSQL one.
    tags = {
        f["logGroup"]: _tags(_stream_of(commercial, f["destinationArn"])) for f in commercial.of_type(FILTER)
    }
    assert tags == {
        "/platform/prod-commercial/api": {"env": "prod-commercial", "service": "api", "source": "nodejs"},
        "/platform/prod-commercial/web": {"env": "prod-commercial", "service": "web", "source": "nodejs"},
        "/aws/rds/cluster/platform-prod-commercial-db/postgresql": {
            "env": "prod-commercial",
            "service": "postgresql",
            "source": "postgresql",
        },
    }
    # Three streams for three log groups: the web's lines never share the API's stream.
    streams = [f["destinationArn"] for f in commercial.of_type(FILTER)]
    assert len(set(streams)) == len(streams) == len(commercial.of_type(STREAM)) == 3
    # Each stream backs its failures up under its own prefix, so a replay keeps them apart.
    prefixes = {
        _tags(s)["service"]: s["httpEndpointConfiguration"]["s3Configuration"]["prefix"]
        for s in commercial.of_type(STREAM)
    }
    assert len(set(prefixes.values())) == 3
    # The web, a Node server like the API, ships its warnings and errors only, as the API does.
    patterns = {f["logGroup"]: f.get("filterPattern", "") for f in commercial.of_type(FILTER)}
    web, api = patterns["/platform/prod-commercial/web"], patterns["/platform/prod-commercial/api"]
    assert web == api != ""


def test_the_api_key_reaches_firehose_only_through_secrets_manager(commercial: Run) -> None:
    secret = commercial.one("aws:secretsmanager/secret:Secret")
    assert secret["kmsKeyId"].startswith("arn:aws:kms:")
    for stream in commercial.of_type(STREAM):
        http = stream["httpEndpointConfiguration"]
        assert "accessKey" not in http
        assert http["secretsManagerConfiguration"] == {
            "enabled": True,
            "secretArn": secret.outputs["arn"],
            "roleArn": http["roleArn"],
        }
    # The value is a Pulumi secret, in the JSON shape Firehose reads for Datadog
    # (docs.aws.amazon.com/firehose/latest/dev/secrets-manager-whats-secret.html).
    version = commercial.one("aws:secretsmanager/secretVersion:SecretVersion")
    assert isinstance(version.inputs["secretString"], Secret)
    assert json.loads(version["secretString"]) == {"api_key": SECRET_PLACEHOLDER}


def test_no_input_of_the_log_path_holds_the_key_in_plain(commercial: Run) -> None:
    key = SECRET_PLACEHOLDER
    component = commercial.one("platform:log_shipping:LogShipping")

    def plain_strings(value):
        if isinstance(value, Secret):
            return
        if isinstance(value, dict):
            for item in value.values():
                yield from plain_strings(item)
        elif isinstance(value, list):
            for item in value:
                yield from plain_strings(item)
        else:
            yield str(value)

    children = commercial.children(component)
    assert children
    for resource in children:
        assert not any(key in text for text in plain_strings(resource.inputs)), resource.name


def test_database_lines_that_name_a_password_stay_in_cloudwatch(commercial: Run) -> None:
    database = next(f for f in commercial.of_type(FILTER) if "rds" in f["logGroup"])
    # `-term` excludes a term, matched case-sensitively (CloudWatch Logs filter pattern syntax).
    assert set(database["filterPattern"].split()) == {"-PASSWORD", "-password", "-Password"}


def test_subscription_role_trusts_cloudwatch_logs_of_this_account_only(commercial: Run) -> None:
    role = commercial.named("log-shipping-subscription-role")
    statement = json.loads(role["assumeRolePolicy"])["Statement"][0]
    assert statement["Principal"] == {"Service": "logs.amazonaws.com"}
    assert (
        statement["Condition"]["StringLike"]["aws:SourceArn"] == "arn:aws:logs:ap-northeast-1:123456789012:*"
    )
    # Every role the program makes carries the stack's boundary (components/boundary.py).
    for name in ("subscription-role", "firehose-role"):
        bounded = commercial.named(f"log-shipping-{name}")
        assert bounded["permissionsBoundary"].endswith(":policy/platform-github-prod-commercial-boundary")


def test_staging_ships_no_logs_to_datadog() -> None:
    staging = committed_run("staging")
    assert not staging.of_type(STREAM)
    assert not staging.of_type(FILTER)


def test_logs_without_datadog_enabled_is_refused_before_any_resource() -> None:
    with pytest.raises(SettingsError) as error:
        run_stack("staging", overrides={"platform:datadog": {"logs": True}})
    assert "platform:datadog" in str(error.value) and "logs needs enabled" in str(error.value)
    assert not last_run().resources


def test_integration_collects_only_resources_tagged_with_this_stack(commercial: Run) -> None:
    integration = commercial.one("datadog:aws/integrationAccount:IntegrationAccount")
    metrics = integration["metricsConfig"]
    filters = {f["namespace"]: f["tags"] for f in metrics["tagFilters"]}
    assert set(filters) == set(metrics["namespaceFilters"]["includeOnlies"])
    assert set(map(tuple, filters.values())) == {("stack:prod-commercial",)}
    assert "stack:prod-commercial" in integration["accountTags"]


def test_only_commercial_registers_the_account_with_datadog() -> None:
    registrations = [
        stack
        for stack in ("staging", "prod-commercial")
        if committed_run(stack).of_type("datadog:aws/integrationAccount:IntegrationAccount")
    ]
    assert registrations == ["prod-commercial"]


@pytest.mark.parametrize("stack", ["staging", "prod-commercial"])
def test_deploys_wait_for_steady_state_with_a_bound(stack: str) -> None:
    services = committed_run(stack).of_type("aws:ecs/service:Service")
    assert sorted(s["name"] for s in services) == [f"platform-{stack}-api", f"platform-{stack}-web"]
    for service in services:
        assert service["waitForSteadyState"] is True, service.name
        assert service.custom_timeouts == {"create": "20m", "update": "20m"}, service.name


def test_the_estimate_carries_the_log_path_and_stays_in_budget(commercial: Run) -> None:
    lines = {line.item: line for line in estimate(commercial, settings_of(commercial)).lines}
    line = lines["Datadog logs via Firehose"]
    # 5% of 7 GB service lines (5 GB API + 2 GB web) + 0.2 GB database = 0.55 GB; 0.55e9 B /
    # 400 B = 1.375 M events: 0.55 x ($0.036 Firehose + $0.10 Datadog ingest) + 1.375 x $1.70
    # indexing + $0.40 secret.
    assert line.monthly_usd == pytest.approx(0.55 * 0.136 + 1.375 * 1.70 + 0.40, abs=0.01)
    assert estimate(commercial, settings_of(commercial)).total <= 373


def test_shipping_every_api_line_would_break_the_budget(commercial: Run) -> None:
    settings = settings_of(commercial)
    everything = settings.model_copy(
        update={"datadog": settings.datadog.model_copy(update={"logs_filter_pattern": ""})}
    )
    # 7.2 GB -> 18 M events indexed: about $31, which is why the services ship warnings and
    # errors only.
    assert log_shipping_line(everything).monthly_usd == pytest.approx(
        7.2 * 0.136 + 18.0 * 1.70 + 0.40, abs=0.01
    )
    assert estimate(commercial, settings).total + log_shipping_line(everything).monthly_usd - 2.37 > 373


def _described(task_definition: str, state: str, reason: str = "") -> dict:
    # Shape of DescribeServices (API_DescribeServices.html, API_Deployment.html).
    return {
        "services": [
            {
                "serviceName": "platform-prod-commercial-api",
                "deployments": [
                    {
                        "status": "PRIMARY",
                        "taskDefinition": task_definition,
                        "rolloutState": state,
                        "rolloutStateReason": reason,
                    }
                ],
            }
        ],
        "failures": [],
    }


NEW = "arn:aws:ecs:ap-northeast-1:123456789012:task-definition/platform-prod-commercial-api:8"
OLD = "arn:aws:ecs:ap-northeast-1:123456789012:task-definition/platform-prod-commercial-api:7"


def test_a_completed_release_passes_the_rollout_check() -> None:
    assert rollout_problems(_described(NEW, "COMPLETED"), NEW) == []


def test_a_rolled_back_release_fails_the_deploy(monkeypatch, capsys) -> None:
    # After a circuit-breaker rollback, the PRIMARY deployment is the rollback, on the old
    # revision, and COMPLETED (docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html).
    described = _described(OLD, "COMPLETED", "ECS deployment circuit breaker: rolled back")
    problems = rollout_problems(described, NEW)
    assert problems and "rolled back" in problems[0]
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(json.dumps(described)))
    assert rollout_main(["--task-definition", NEW]) == 1
    assert "::error::" in capsys.readouterr().out


def test_a_failed_rollout_fails_the_deploy() -> None:
    problems = rollout_problems(_described(NEW, "FAILED", "tasks failed to start"), NEW)
    assert problems == ["rollout FAILED: tasks failed to start"]
