"""Monitoring under mocks: topic, alarms, dashboard and budget as AWS would receive them."""

from __future__ import annotations

import json

import pytest

from components.monitoring import DatabaseTargets, Monitoring, MonitoringArgs, ServiceTargets
from components.settings import MonitoringSettings
from tools.harness import Run, run_stack

CONFIG = {"aws:region": "ap-northeast-1", "platform:topology": "commercial"}
KMS_KEY = "arn:aws:kms:ap-northeast-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
EDGE_KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/9876abcd-12ab-34cd-56ef-1234567890ab"
ALB = "app/platform-prod-alb/50dc6c495c0c9188"
API_TARGET_GROUP = "targetgroup/platform-prod-api/73e2d6bc24d8a067"
WEB_TARGET_GROUP = "targetgroup/platform-prod-web/943f017f100becff"
CLUSTER = "platform-test-cluster"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"
GIB = 1024**3


def _services(*, always_on: bool = True) -> list[ServiceTargets]:
    """The API and the web, each behind its own target group of the one load balancer."""
    return [
        ServiceTargets("api", "platform-test-api", API_TARGET_GROUP, always_on=always_on),
        ServiceTargets("web", "platform-test-web", WEB_TARGET_GROUP, always_on=always_on),
    ]


def _run(
    *,
    settings: MonitoringSettings,
    database: DatabaseTargets,
    region: str = "ap-northeast-1",
    services: list[ServiceTargets] | None = None,
    **extra,
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
                cluster_name=CLUSTER,
                services=_services() if services is None else services,
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
        services=_services(always_on=False),
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


def test_alb_alarms_watch_the_load_balancer_and_each_target_group(commercial: Run) -> None:
    # Target-group metrics carry both dimensions, TargetGroup and LoadBalancer ("CloudWatch
    # metrics for your Application Load Balancer", Metric dimensions); HTTPCode_ELB_5XX_Count is
    # the load balancer's own and is per LoadBalancer only.
    alarms = _alarms(commercial)
    expected = {
        "alb-elb-5xx": ("HTTPCode_ELB_5XX_Count", {"LoadBalancer": ALB}, "Sum", 300),
        "api-target-5xx": (
            "HTTPCode_Target_5XX_Count",
            {"LoadBalancer": ALB, "TargetGroup": API_TARGET_GROUP},
            "Sum",
            300,
        ),
        "web-target-5xx": (
            "HTTPCode_Target_5XX_Count",
            {"LoadBalancer": ALB, "TargetGroup": WEB_TARGET_GROUP},
            "Sum",
            300,
        ),
        "api-unhealthy-hosts": (
            "UnHealthyHostCount",
            {"LoadBalancer": ALB, "TargetGroup": API_TARGET_GROUP},
            "Maximum",
            60,
        ),
        "web-unhealthy-hosts": (
            "UnHealthyHostCount",
            {"LoadBalancer": ALB, "TargetGroup": WEB_TARGET_GROUP},
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
    for key, target_group in (("api-p95-latency", API_TARGET_GROUP), ("web-p95-latency", WEB_TARGET_GROUP)):
        latency = alarms[key]
        assert (latency["metricName"], latency["extendedStatistic"]) == ("TargetResponseTime", "p95")
        assert latency["dimensions"] == {"LoadBalancer": ALB, "TargetGroup": target_group}
        assert "statistic" not in latency
        assert 0.2 <= latency["threshold"] <= 5  # seconds


def test_the_load_balancers_own_5xx_is_one_alarm_for_all_services(commercial: Run) -> None:
    elb = [a for a in _alarms(commercial).values() if a["metricName"] == "HTTPCode_ELB_5XX_Count"]
    assert [a["dimensions"] for a in elb] == [{"LoadBalancer": ALB}]


def test_each_service_gets_its_own_alarm_set_with_its_own_dimensions(commercial: Run) -> None:
    alarms = _alarms(commercial)
    kinds = {"cpu", "memory", "target-5xx", "unhealthy-hosts", "p95-latency", "no-healthy-hosts"}
    for service, target_group in (("api", API_TARGET_GROUP), ("web", WEB_TARGET_GROUP)):
        mine = {k.removeprefix(f"{service}-"): a for k, a in alarms.items() if k.startswith(f"{service}-")}
        assert set(mine) == kinds, service
        for kind in ("cpu", "memory"):
            assert mine[kind]["dimensions"] == {
                "ClusterName": CLUSTER,
                "ServiceName": f"platform-test-{service}",
            }
        for kind in kinds - {"cpu", "memory"}:
            assert mine[kind]["dimensions"] == {"TargetGroup": target_group, "LoadBalancer": ALB}, kind
    # Nothing else watches a service: the rest is the load balancer, the database and the edge.
    assert set(alarms) - {k for k in alarms if k.startswith(("api-", "web-"))} == {
        "alb-elb-5xx",
        "db-writer-cpu",
        "db-reader-cpu",
        "db-connections",
        "db-acu-utilization",
        "db-freeable-memory",
        "cloudfront-5xx-rate",
        "waf-blocked-spike",
    }


def test_a_service_without_a_target_group_gets_only_cpu_and_memory_alarms() -> None:
    run = _run(
        settings=MonitoringSettings(dashboard=True),
        database=DatabaseTargets(engine="rds-postgres", instance_identifiers=["db"]),
        services=[
            ServiceTargets("api", "platform-test-api", API_TARGET_GROUP),
            ServiceTargets("worker", "platform-test-worker"),
        ],
    )
    alarms = _alarms(run)
    worker = {k: a for k, a in alarms.items() if k.startswith("worker-")}
    assert set(worker) == {"worker-cpu", "worker-memory"}
    for alarm in worker.values():
        assert alarm["namespace"] == "AWS/ECS"
        assert alarm["dimensions"] == {"ClusterName": CLUSTER, "ServiceName": "platform-test-worker"}
    # The served service beside it keeps its full set.
    assert {k for k in alarms if k.startswith("api-")} == {
        "api-cpu",
        "api-memory",
        "api-target-5xx",
        "api-unhealthy-hosts",
        "api-p95-latency",
        "api-no-healthy-hosts",
    }
    # The worker's dashboard has its CPU and memory, and no load-balancer graph of its own.
    widgets = json.loads(run.one("aws:cloudwatch/dashboard:Dashboard")["dashboardBody"])["widgets"]
    worker_lines = [
        line for w in widgets for line in w["properties"]["metrics"] if "platform-test-worker" in line
    ]
    assert sorted(line[1] for line in worker_lines) == ["CPUUtilization", "MemoryUtilization"]
    assert all(line[0] == "AWS/ECS" for line in worker_lines)


def test_ecs_alarms_use_cluster_and_service_and_stay_quiet_without_data(staging: Run) -> None:
    alarms = _alarms(staging)
    for service in ("api", "web"):
        for kind, metric in (("cpu", "CPUUtilization"), ("memory", "MemoryUtilization")):
            alarm = alarms[f"{service}-{kind}"]
            assert (alarm["namespace"], alarm["metricName"]) == ("AWS/ECS", metric)
            assert alarm["dimensions"] == {
                "ClusterName": "platform-test-cluster",
                "ServiceName": f"platform-test-{service}",
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
    healthy = {k: a for k, a in _alarms(commercial).items() if a["metricName"] == "HealthyHostCount"}
    assert set(healthy) == {"api-no-healthy-hosts", "web-no-healthy-hosts"}
    for key, target_group in (
        ("api-no-healthy-hosts", API_TARGET_GROUP),
        ("web-no-healthy-hosts", WEB_TARGET_GROUP),
    ):
        alarm = healthy[key]
        assert alarm["comparisonOperator"] == "LessThanThreshold" and alarm["threshold"] == 1
        assert alarm["dimensions"] == {"LoadBalancer": ALB, "TargetGroup": target_group}
        assert alarm["treatMissingData"] == "breaching"


def test_scaling_to_zero_drops_only_that_services_no_healthy_hosts_alarm() -> None:
    # The API always on, the web scaled to zero at night: only the web loses its "no healthy
    # task" alarm; every other alarm of either service stays.
    run = _run(
        settings=MonitoringSettings(),
        database=DatabaseTargets(engine="rds-postgres", instance_identifiers=["db"]),
        services=[
            ServiceTargets("api", "platform-test-api", API_TARGET_GROUP, always_on=True),
            ServiceTargets("web", "platform-test-web", WEB_TARGET_GROUP, always_on=False),
        ],
    )
    keys = {k for k in _alarms(run) if k.startswith(("api-", "web-"))}
    assert keys == {
        "api-cpu",
        "api-memory",
        "api-target-5xx",
        "api-unhealthy-hosts",
        "api-p95-latency",
        "api-no-healthy-hosts",
        "web-cpu",
        "web-memory",
        "web-target-5xx",
        "web-unhealthy-hosts",
        "web-p95-latency",
    }


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
    widgets = _widgets(commercial)
    metrics = {
        (line[0], line[1], p["properties"]["region"]) for p in widgets for line in p["properties"]["metrics"]
    }
    for namespace, metric in (
        ("AWS/ECS", "CPUUtilization"),
        ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"),
        ("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count"),
        ("AWS/RDS", "ServerlessDatabaseCapacity"),
    ):
        assert (namespace, metric, "ap-northeast-1") in metrics
    assert ("AWS/CloudFront", "5xxErrorRate", "us-east-1") in metrics
    assert ("AWS/WAFV2", "BlockedRequests", "us-east-1") in metrics
    assert all(w["x"] + w["width"] <= 24 for w in widgets)
    # No two graphs on the same spot of the grid.
    assert len({(w["x"], w["y"]) for w in widgets}) == len(widgets)


def _widgets(run: Run) -> list[dict]:
    return json.loads(run.one("aws:cloudwatch/dashboard:Dashboard")["dashboardBody"])["widgets"]


def test_dashboard_graphs_each_service_on_its_own_widgets(commercial: Run) -> None:
    # A metric line is [namespace, metric, dimension name, value, ...] (CloudWatch "Dashboard body
    # structure and syntax", metrics array).
    widgets = _widgets(commercial)

    def lines_of(value: str) -> list[tuple[list, str]]:
        return [
            (line, w["properties"]["stat"])
            for w in widgets
            for line in w["properties"]["metrics"]
            if value in line
        ]

    for service, target_group in (("api", API_TARGET_GROUP), ("web", WEB_TARGET_GROUP)):
        ecs = ["ClusterName", CLUSTER, "ServiceName", f"platform-test-{service}"]
        tg = ["TargetGroup", target_group, "LoadBalancer", ALB]
        assert sorted(map(str, lines_of(f"platform-test-{service}"))) == sorted(
            map(
                str,
                [
                    (["AWS/ECS", "CPUUtilization", *ecs], "Average"),
                    (["AWS/ECS", "MemoryUtilization", *ecs], "Average"),
                ],
            )
        )
        assert sorted(map(str, lines_of(target_group))) == sorted(
            map(
                str,
                [
                    (["AWS/ApplicationELB", "RequestCount", *tg], "Sum"),
                    (["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", *tg], "Sum"),
                    (["AWS/ApplicationELB", "TargetResponseTime", *tg], "p95"),
                    (["AWS/ApplicationELB", "HealthyHostCount", *tg], "Maximum"),
                    (["AWS/ApplicationELB", "UnHealthyHostCount", *tg], "Maximum"),
                ],
            )
        )
    # A widget shows one service: none mixes the API's lines with the web's.
    for widget in widgets:
        text = json.dumps(widget["properties"]["metrics"])
        assert not ("platform-test-api" in text and "platform-test-web" in text), widget["properties"][
            "title"
        ]
        assert not (API_TARGET_GROUP in text and WEB_TARGET_GROUP in text), widget["properties"]["title"]


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
