"""Monitoring under mocks: topic, alarms, dashboard and budget as AWS would receive them."""

from __future__ import annotations

import json

import pytest

from components.monitoring import DatabaseTargets, Monitoring, MonitoringArgs
from components.settings import MonitoringSettings
from tools.harness import Run, run_stack

CONFIG = {"aws:region": "ap-northeast-1", "platform:topology": "commercial"}
KMS_KEY = "arn:aws:kms:ap-northeast-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
EDGE_KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/9876abcd-12ab-34cd-56ef-1234567890ab"
ALB = "app/platform-prod-alb/50dc6c495c0c9188"
TARGET_GROUP = "targetgroup/platform-prod-api/73e2d6bc24d8a067"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"
GIB = 1024**3


def _run(
    *, settings: MonitoringSettings, database: DatabaseTargets, region: str = "ap-northeast-1", **extra
) -> Run:
    def program() -> None:
        Monitoring(
            "monitoring",
            MonitoringArgs(
                settings=settings,
                name_prefix="platform-test",
                region=region,
                kms_key_arn=KMS_KEY,
                alb_arn_suffix=ALB,
                target_group_arn_suffix=TARGET_GROUP,
                cluster_name="platform-test-cluster",
                service_name="platform-test-api",
                database=database,
                **extra,
            ),
        )

    return run_stack("test", config={**CONFIG, "aws:region": region}, program=program)


@pytest.fixture(scope="module")
def commercial() -> Run:
    """Always-on, Aurora, behind CloudFront and WAF, with e-mail and dashboard."""
    return _run(
        settings=MonitoringSettings(alarm_email="ops@example.com", dashboard=True, monthly_budget_usd=373),
        database=DatabaseTargets(
            engine="aurora-serverless-v2",
            cluster_identifier="platform-test-db",
            memory_gib=8,
            reader_instances=1,
        ),
        distribution_id="E2QWRUHAPOMQZL",
        web_acl_metric_name="platform-test-waf",
        edge_kms_key_arn=EDGE_KMS_KEY,
    )


@pytest.fixture(scope="module")
def staging() -> Run:
    """Stopped at night, RDS with two instances, no e-mail, no dashboard, no edge."""
    return _run(
        settings=MonitoringSettings(monthly_budget_usd=70),
        database=DatabaseTargets(
            engine="rds-postgres",
            instance_identifiers=["db-one", "db-two"],
            schedule_group_name="platform-test-db",
        ),
        scales_to_zero=True,
    )


def _alarms(run: Run) -> dict[str, dict]:
    return {r["name"].removeprefix("platform-test-"): r.plain_inputs for r in run.of_type(ALARM)}


def _topic_arn(run: Run, region: str) -> str:
    [topic] = [t for t in run.of_type(TOPIC) if t.outputs["region"] == region]
    return topic.outputs["arn"]


# -- the topic ------------------------------------------------------------------------------------


def test_alarm_topic_is_encrypted_with_the_stack_key(staging: Run) -> None:
    [topic] = staging.of_type(TOPIC)
    assert topic["kmsMasterKeyId"] == KMS_KEY


def test_topic_policy_lets_only_this_accounts_alarms_and_budgets_publish_over_tls(staging: Run) -> None:
    [policy] = staging.of_type("aws:sns/topicPolicy:TopicPolicy")
    document = json.loads(policy["policy"])
    allows = {s["Principal"]["Service"]: s for s in document["Statement"] if s["Effect"] == "Allow"}
    assert set(allows) == {"cloudwatch.amazonaws.com", "budgets.amazonaws.com"}
    for statement in allows.values():
        assert statement["Action"] == "sns:Publish"
        assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    assert allows["cloudwatch.amazonaws.com"]["Condition"]["ArnLike"]["aws:SourceArn"].startswith(
        "arn:aws:cloudwatch:ap-northeast-1:123456789012:alarm:"
    )
    [deny] = [s for s in document["Statement"] if s["Effect"] == "Deny"]
    assert deny["Principal"] == "*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_email_subscription_only_when_an_address_is_set(commercial: Run, staging: Run) -> None:
    assert staging.of_type("aws:sns/topicSubscription:TopicSubscription") == []
    subscriptions = commercial.of_type("aws:sns/topicSubscription:TopicSubscription")
    # One per topic: the main one and the us-east-1 edge topic.
    assert sorted(s.get("region") or "ap-northeast-1" for s in subscriptions) == [
        "ap-northeast-1",
        "us-east-1",
    ]
    for subscription in subscriptions:
        assert subscription["protocol"] == "email"
        assert subscription["endpoint"] == "ops@example.com"


# -- alarms ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("run_name", ["commercial", "staging"])
def test_every_alarm_notifies_the_topic_of_its_region_on_alarm_and_on_ok(run_name: str, request) -> None:
    run: Run = request.getfixturevalue(run_name)
    alarms = run.of_type(ALARM)
    assert alarms
    for alarm in alarms:
        region = alarm.get("region") or "ap-northeast-1"
        topic = _topic_arn(run, region)
        assert alarm["alarmActions"] == [topic], alarm.name
        assert alarm["okActions"] == [topic], alarm.name
        assert alarm["treatMissingData"] in {"notBreaching", "breaching"}, alarm.name


def test_alb_alarms_watch_the_load_balancer_and_target_group(commercial: Run) -> None:
    alarms = _alarms(commercial)
    expected = {
        "alb-target-5xx": ("HTTPCode_Target_5XX_Count", {"LoadBalancer": ALB}, "Sum", 300),
        "alb-elb-5xx": ("HTTPCode_ELB_5XX_Count", {"LoadBalancer": ALB}, "Sum", 300),
        "alb-unhealthy-hosts": (
            "UnHealthyHostCount",
            {"LoadBalancer": ALB, "TargetGroup": TARGET_GROUP},
            "Maximum",
            60,
        ),
    }
    for key, (metric, dimensions, statistic, period) in expected.items():
        alarm = alarms[key]
        assert alarm["namespace"] == "AWS/ApplicationELB"
        assert (alarm["metricName"], alarm["dimensions"], alarm["statistic"], alarm["period"]) == (
            metric, dimensions, statistic, period,
        )  # fmt: skip
        assert alarm["comparisonOperator"].startswith("GreaterThan")
        assert 1 <= alarm["threshold"] <= 50
    latency = alarms["alb-p95-latency"]
    assert (latency["metricName"], latency["extendedStatistic"]) == ("TargetResponseTime", "p95")
    assert "statistic" not in latency
    assert 0.2 <= latency["threshold"] <= 5  # seconds


def test_ecs_alarms_use_cluster_and_service_and_stay_quiet_without_data(staging: Run) -> None:
    alarms = _alarms(staging)
    for key, metric in (("ecs-cpu", "CPUUtilization"), ("ecs-memory", "MemoryUtilization")):
        alarm = alarms[key]
        assert (alarm["namespace"], alarm["metricName"]) == ("AWS/ECS", metric)
        assert alarm["dimensions"] == {
            "ClusterName": "platform-test-cluster",
            "ServiceName": "platform-test-api",
        }
        assert 50 <= alarm["threshold"] < 100
        assert alarm["treatMissingData"] == "notBreaching"


def test_failed_database_starts_and_stops_alarm(staging: Run, commercial: Run) -> None:
    # AWS/Scheduler metrics per schedule group (dimension ScheduleGroup):
    # https://docs.aws.amazon.com/scheduler/latest/UserGuide/monitoring-cloudwatch.html
    alarms = _alarms(staging)
    for key, metric in (
        ("db-schedule-errors", "TargetErrorCount"),
        ("db-schedule-dropped", "InvocationDroppedCount"),
    ):
        alarm = alarms[key]
        assert (alarm["namespace"], alarm["metricName"]) == ("AWS/Scheduler", metric)
        assert alarm["dimensions"] == {"ScheduleGroup": "platform-test-db"}
        assert (alarm["statistic"], alarm["threshold"], alarm["evaluationPeriods"]) == ("Sum", 1, 1)
        assert alarm["alarmActions"] == [_topic_arn(staging, "ap-northeast-1")]
    assert not any(a["namespace"] == "AWS/Scheduler" for a in _alarms(commercial).values())


def test_service_that_stops_at_night_has_no_alarm_that_reads_missing_data_as_breaching(staging: Run) -> None:
    alarms = _alarms(staging)
    assert all(a["treatMissingData"] == "notBreaching" for a in alarms.values())
    assert not any(a["metricName"] == "HealthyHostCount" for a in alarms.values())


def test_always_on_service_alarms_when_no_task_is_healthy(commercial: Run) -> None:
    [alarm] = [a for a in _alarms(commercial).values() if a["metricName"] == "HealthyHostCount"]
    assert alarm["comparisonOperator"] == "LessThanThreshold" and alarm["threshold"] == 1
    assert alarm["dimensions"] == {"LoadBalancer": ALB, "TargetGroup": TARGET_GROUP}
    assert alarm["treatMissingData"] == "breaching"


def test_rds_alarms_exist_per_instance(staging: Run) -> None:
    rds = [a for a in _alarms(staging).values() if a["namespace"] == "AWS/RDS"]
    for identifier in ("db-one", "db-two"):
        mine = {a["metricName"]: a for a in rds if a["dimensions"] == {"DBInstanceIdentifier": identifier}}
        assert set(mine) == {"CPUUtilization", "FreeStorageSpace", "DatabaseConnections"}
        assert mine["FreeStorageSpace"]["comparisonOperator"] == "LessThanThreshold"
        assert GIB <= mine["FreeStorageSpace"]["threshold"] <= 4 * GIB
        # db.t4g.micro: max_connections is about 80-110; the alarm must fire below that.
        assert 40 <= mine["DatabaseConnections"]["threshold"] < 87
    assert len(rds) == 6


def test_aurora_alarms_use_the_cluster_and_scale_with_its_memory(commercial: Run) -> None:
    rds = [a for a in _alarms(commercial).values() if a["namespace"] == "AWS/RDS"]
    aurora = {a["metricName"]: a for a in rds if a["metricName"] != "CPUUtilization"}
    assert set(aurora) == {"DatabaseConnections", "ACUUtilization", "FreeableMemory"}
    for alarm in aurora.values():
        assert alarm["dimensions"] == {"DBClusterIdentifier": "platform-test-db"}
    # CPU is watched per role, never averaged over writer and reader: Aurora publishes
    # CPUUtilization by DBClusterIdentifier + Role (WRITER | READER) ("Amazon CloudWatch metrics
    # for Amazon Aurora", dimensions).
    cpu = sorted(a["dimensions"]["Role"] for a in rds if a["metricName"] == "CPUUtilization")
    assert cpu == ["READER", "WRITER"]
    assert all(
        a["dimensions"] == {"DBClusterIdentifier": "platform-test-db", "Role": a["dimensions"]["Role"]}
        for a in rds
        if a["metricName"] == "CPUUtilization"
    )
    limit = 8 * GIB / 9_531_392  # Aurora PostgreSQL's max_connections at 4 ACU (8 GiB)
    assert 0.5 * limit <= aurora["DatabaseConnections"]["threshold"] < limit
    assert aurora["FreeableMemory"]["comparisonOperator"] == "LessThanThreshold"
    assert 0 < aurora["FreeableMemory"]["threshold"] <= 2 * GIB
    assert 50 <= aurora["ACUUtilization"]["threshold"] < 100


def test_aurora_without_readers_watches_the_writer_only() -> None:
    run = _run(
        settings=MonitoringSettings(),
        database=DatabaseTargets(engine="aurora-serverless-v2", cluster_identifier="platform-test-db"),
    )
    cpu = [
        a
        for a in _alarms(run).values()
        if a["namespace"] == "AWS/RDS" and a["metricName"] == "CPUUtilization"
    ]
    assert [a["dimensions"].get("Role") for a in cpu] == ["WRITER"]


def test_aurora_without_a_cluster_identifier_is_refused() -> None:
    with pytest.raises(Exception, match="cluster_identifier"):
        _run(settings=MonitoringSettings(), database=DatabaseTargets(engine="aurora-serverless-v2"))


# -- edge alarms ----------------------------------------------------------------------------------


def test_cloudfront_and_waf_alarms_live_in_us_east_1_with_an_encrypted_topic_there(commercial: Run) -> None:
    alarms = _alarms(commercial)
    cloudfront, waf = alarms["cloudfront-5xx-rate"], alarms["waf-blocked-spike"]
    assert (cloudfront["namespace"], cloudfront["metricName"]) == ("AWS/CloudFront", "5xxErrorRate")
    assert cloudfront["dimensions"] == {"DistributionId": "E2QWRUHAPOMQZL", "Region": "Global"}
    assert (waf["namespace"], waf["metricName"], waf["statistic"]) == ("AWS/WAFV2", "BlockedRequests", "Sum")
    assert waf["dimensions"] == {"WebACL": "platform-test-waf", "Rule": "ALL"}
    for alarm in (cloudfront, waf):
        assert alarm["region"] == "us-east-1"
        assert alarm["alarmActions"][0].startswith("arn:aws:sns:us-east-1:")
    [edge_topic] = [t for t in commercial.of_type(TOPIC) if t.get("region") == "us-east-1"]
    assert edge_topic["kmsMasterKeyId"] == EDGE_KMS_KEY


def test_edge_alarms_outside_us_east_1_need_a_us_east_1_key() -> None:
    with pytest.raises(ValueError, match="edge_kms_key_arn"):
        _run(
            settings=MonitoringSettings(),
            database=DatabaseTargets(engine="rds-postgres", instance_identifiers=["db"]),
            distribution_id="E2QWRUHAPOMQZL",
        )


def test_no_edge_alarms_and_nothing_in_us_east_1_without_a_distribution(staging: Run) -> None:
    assert not any(a["namespace"] in ("AWS/CloudFront", "AWS/WAFV2") for a in _alarms(staging).values())
    assert [r.name for r in staging.resources if r.get("region") == "us-east-1"] == []
    assert len(staging.of_type(TOPIC)) == 1


def test_stack_in_us_east_1_reuses_its_own_topic_for_edge_alarms() -> None:
    run = _run(
        settings=MonitoringSettings(),
        database=DatabaseTargets(engine="rds-postgres", instance_identifiers=["db"]),
        region="us-east-1",
        distribution_id="E2QWRUHAPOMQZL",
    )
    [topic] = run.of_type(TOPIC)
    assert run.of_type("aws:kms/key:Key") == []
    assert _alarms(run)["cloudfront-5xx-rate"]["alarmActions"] == [topic.outputs["arn"]]


# -- dashboard and budget -------------------------------------------------------------------------


def test_dashboard_only_when_enabled_and_covers_service_alb_db_and_edge(
    commercial: Run, staging: Run
) -> None:
    assert staging.of_type("aws:cloudwatch/dashboard:Dashboard") == []
    dashboard = commercial.one("aws:cloudwatch/dashboard:Dashboard")
    widgets = json.loads(dashboard["dashboardBody"])["widgets"]
    metrics = {
        (line[0], line[1], p["properties"]["region"]) for p in widgets for line in p["properties"]["metrics"]
    }
    for namespace, metric in (
        ("AWS/ECS", "CPUUtilization"),
        ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"),
        ("AWS/RDS", "ServerlessDatabaseCapacity"),
    ):
        assert (namespace, metric, "ap-northeast-1") in metrics
    assert ("AWS/CloudFront", "5xxErrorRate", "us-east-1") in metrics
    assert ("AWS/WAFV2", "BlockedRequests", "us-east-1") in metrics
    assert all(w["x"] + w["width"] <= 24 for w in widgets)


@pytest.mark.parametrize(("run_name", "amount"), [("commercial", 373), ("staging", 70)])
def test_budget_limit_is_the_setting_and_warns_at_80_actual_and_100_forecast(
    run_name, amount, request
) -> None:
    run: Run = request.getfixturevalue(run_name)
    budget = run.one("aws:budgets/budget:Budget")
    assert float(budget["limitAmount"]) == amount
    assert (budget["limitUnit"], budget["timeUnit"], budget["budgetType"]) == ("USD", "MONTHLY", "COST")
    notifications = {(n["notificationType"], n["threshold"]) for n in budget["notifications"]}
    assert notifications == {("ACTUAL", 80), ("FORECASTED", 100)}
    topic = _topic_arn(run, "ap-northeast-1")
    for notification in budget["notifications"]:
        assert notification["subscriberSnsTopicArns"] == [topic]
        assert notification["thresholdType"] == "PERCENTAGE"


def test_budget_emails_the_alarm_address_when_set(commercial: Run, staging: Run) -> None:
    for notification in commercial.one("aws:budgets/budget:Budget")["notifications"]:
        assert notification["subscriberEmailAddresses"] == ["ops@example.com"]
    for notification in staging.one("aws:budgets/budget:Budget")["notifications"]:
        assert not notification.get("subscriberEmailAddresses")


def test_children_belong_to_the_component(commercial: Run) -> None:
    component = commercial.one("platform:monitoring:Monitoring")
    children = [r for r in commercial.resources if r is not component]
    assert children and all(r.parent == component.urn for r in children)
    assert all(r.name.startswith("monitoring-") for r in children)


@pytest.mark.parametrize("stack", ["staging", "prod-commercial"])
def test_each_stacks_budget_counts_only_its_own_tagged_spend(stack) -> None:
    """One account can hold several stacks: the budget filters on the `stack` cost-allocation tag
    (AWS Budgets API, CostFilters: TagKeyValue values are "user:<tag key>$<tag value>"), which
    the stack file's aws:defaultTags put on every resource of the stack."""
    run = run_stack(stack)
    [cost_filter] = run.one("aws:budgets/budget:Budget")["costFilters"]
    assert cost_filter == {"name": "TagKeyValue", "values": [f"user:stack${stack}"]}
    assert run.config["aws:defaultTags"]["tags"]["stack"] == stack
