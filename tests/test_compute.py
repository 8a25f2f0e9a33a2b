"""Compute under the recording mocks: the API task, service, ALB, autoscaling and business hours."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import date, datetime

import pulumi
import pytest

from components.compute import Compute, ComputeArgs, DatadogSidecar, elb_name
from components.settings import ComputeSettings, ScheduleSettings
from tests.aws_cron import Cron
from tools.harness import Run, run_stack

CONFIG = {"aws:region": "ap-northeast-1", "platform:topology": "staging"}
ACCOUNT = "123456789012"
SSM = f"arn:aws:ssm:ap-northeast-1:{ACCOUNT}:parameter/platform/test"
SECRETS = {
    "DATABASE_URL": f"{SSM}/DATABASE_URL",
    "MONGODB_URI": f"{SSM}/MONGODB_URI",
    "SENTRY_DSN": f"{SSM}/SENTRY_DSN",
}
DD_KEY_ARN = f"{SSM}/DD_API_KEY"
CERTIFICATE = f"arn:aws:acm:ap-northeast-1:{ACCOUNT}:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
PUBLIC = ["subnet-public-a", "subnet-public-c"]
PRIVATE = ["subnet-private-a", "subnet-private-c"]

TASK = "aws:ecs/taskDefinition:TaskDefinition"
SERVICE = "aws:ecs/service:Service"
LISTENER = "aws:lb/listener:Listener"
ALB = "aws:lb/loadBalancer:LoadBalancer"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
SCALING_TARGET = "aws:appautoscaling/target:Target"
POLICY = "aws:appautoscaling/policy:Policy"
SCHEDULED = "aws:appautoscaling/scheduledAction:ScheduledAction"


# A Wednesday in December, during business hours: the horizon crosses into next year.
DAYTIME = datetime(2026, 12, 2, 10, 30)
NIGHT = datetime(2026, 12, 2, 22, 0)


def make_args(**changes) -> ComputeArgs:
    base = dict(
        settings=ComputeSettings(),
        schedule=ScheduleSettings(),
        name_prefix="platform-test",
        region="ap-northeast-1",
        vpc_id="vpc-0123456789abcdef0",
        public_subnet_ids=PUBLIC,
        private_subnet_ids=PRIVATE,
        assign_public_ip=False,
        alb_internal=False,
        alb_security_group_id="sg-alb",
        task_security_group_id="sg-task",
        execution_role_arn=f"arn:aws:iam::{ACCOUNT}:role/platform-test-execution",
        task_role_arn=f"arn:aws:iam::{ACCOUNT}:role/platform-test-task",
        image=f"{ACCOUNT}.dkr.ecr.ap-northeast-1.amazonaws.com/platform-test:1.2.3",
        log_group_name="/platform/test/api",
        kms_key_arn=f"arn:aws:kms:ap-northeast-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        secrets=SECRETS,
        access_log_bucket="platform-test-access-logs",
        certificate_arn=None,
    )
    base.update(changes)
    return ComputeArgs(**base)


def program(args: ComputeArgs) -> Callable[[], None]:
    def run() -> None:
        compute = Compute("compute", args)
        pulumi.export("scalable_target_resource_id", compute.scalable_target_resource_id)
        pulumi.export("listener_port", compute.listener_port)
        pulumi.export("alb_arn_suffix", compute.alb_arn_suffix)
        pulumi.export("target_group_arn_suffix", compute.target_group_arn_suffix)

    return run


# Staging-like: no NAT (public subnets, own public IPs), no domain, stopped at night.
STAGING = make_args(
    settings=ComputeSettings(environment={"LOG_LEVEL": "info"}),
    schedule=ScheduleSettings(
        mode="stop", timezone="Asia/Tokyo", start="09:00", stop="20:00", warm_up_minutes=15
    ),
    assign_public_ip=True,
    now=DAYTIME,
)
# Commercial-like: private tasks, internal ALB behind CloudFront with a certificate, floor lowered at
# night, request-count scaling and the Datadog agent.
COMMERCIAL = make_args(
    settings=ComputeSettings(
        cpu=1024,
        memory=2048,
        architecture="ARM64",
        desired_count=3,
        min_count=3,
        max_count=6,
        requests_per_target=1000,
        container_port=8080,
        health_check_path="/api/healthz",
        container_insights=True,
        alb_deletion_protection=True,
        log_retention_days=90,
    ),
    schedule=ScheduleSettings(
        mode="scale-down",
        timezone="Europe/London",
        start="08:00",
        stop="23:00",
        weekdays="MON-SAT",
        warm_up_minutes=30,
        off_hours_min_count=2,
        holiday_country="GB",
    ),
    alb_internal=True,
    now=DAYTIME,
    certificate_arn=CERTIFICATE,
    datadog=DatadogSidecar(
        site="ap1.datadoghq.com",
        agent_image="public.ecr.aws/datadog/agent:7",
        api_key_parameter_arn=DD_KEY_ARN,
        env="prod-commercial",
    ),
)
# Spot with an on-demand base, no schedule.
SPOT = make_args(
    settings=ComputeSettings(
        architecture="X86_64", spot=True, on_demand_base=2, spot_weight=3, min_count=2, max_count=8
    ),
    schedule=ScheduleSettings(enabled=False),
    certificate_arn=CERTIFICATE,
)


@pytest.fixture(scope="module")
def staging() -> Run:
    return run_stack("compute-staging", config=CONFIG, program=program(STAGING))


@pytest.fixture(scope="module")
def commercial() -> Run:
    return run_stack("compute-commercial", config=CONFIG, program=program(COMMERCIAL))


@pytest.fixture(scope="module")
def spot() -> Run:
    return run_stack("compute-spot", config=CONFIG, program=program(SPOT))


def containers(run: Run) -> dict[str, dict]:
    definitions = json.loads(run.one(TASK)["containerDefinitions"])
    return {c["name"]: c for c in definitions}


def env(container: dict) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("environment", [])}


def listener_on(run: Run, port: int):
    [listener] = [r for r in run.of_type(LISTENER) if r["port"] == port]
    return listener


# -- component shape ----------------------------------------------------------------------------


def test_every_resource_is_a_child_of_the_component(staging: Run, commercial: Run):
    for run in (staging, commercial):
        component = run.one("platform:compute:Compute")
        others = [r for r in run.resources if r is not component]
        assert others and all(r.parent == component.urn for r in others)


# -- task definition ----------------------------------------------------------------------------


def test_fargate_size_and_architecture_pass_through(commercial: Run, spot: Run):
    task = commercial.one(TASK)
    assert (task["cpu"], task["memory"]) == ("1024", "2048")
    assert task["requiresCompatibilities"] == ["FARGATE"]
    assert task["networkMode"] == "awsvpc"
    assert task["runtimePlatform"] == {"operatingSystemFamily": "LINUX", "cpuArchitecture": "ARM64"}
    assert task["family"] == "platform-test-api"
    assert task["executionRoleArn"].endswith("role/platform-test-execution")
    assert task["taskRoleArn"].endswith("role/platform-test-task")
    assert spot.one(TASK)["runtimePlatform"]["cpuArchitecture"] == "X86_64"


def test_root_filesystem_is_read_only_with_a_writable_tmp_volume(staging: Run):
    api = containers(staging)["api"]
    assert api["readonlyRootFilesystem"] is True
    [mount] = api["mountPoints"]
    assert mount["containerPath"] == "/tmp" and mount["readOnly"] is False
    volumes = staging.one(TASK)["volumes"]
    [volume] = [v for v in volumes if v["name"] == mount["sourceVolume"]]
    # Task (ephemeral) storage: no host path, EFS or EBS behind the volume.
    assert set(volume) <= {"name", "configureAtLaunch"}


def test_secrets_are_injected_by_reference_and_never_as_environment(staging: Run, commercial: Run):
    for run in (staging, commercial):
        api = containers(run)["api"]
        assert {s["name"]: s["valueFrom"] for s in api["secrets"]} == SECRETS
        plain = env(api)
        assert not set(plain) & {*SECRETS, "DD_API_KEY"}
        for value in plain.values():
            assert "arn:aws:ssm" not in value and "parameter/" not in value
    agent = containers(commercial)["datadog-agent"]
    assert agent["secrets"] == [{"name": "DD_API_KEY", "valueFrom": DD_KEY_ARN}]
    assert "DD_API_KEY" not in env(agent)


def test_a_secret_that_is_also_a_plain_variable_is_refused():
    args = make_args(
        settings=ComputeSettings(environment={"REDIS_URL": "redis://cache:6379"}),
        secrets={**SECRETS, "REDIS_URL": f"{SSM}/REDIS_URL"},
    )
    with pytest.raises(ValueError, match="REDIS_URL"):
        run_stack("compute-clash", config=CONFIG, program=program(args))


def test_environment_has_the_settings_production_mode_and_port(staging: Run, commercial: Run):
    plain = env(containers(staging)["api"])
    assert plain["LOG_LEVEL"] == "info"
    assert plain["NODE_ENV"] == "production"
    assert plain["PORT"] == "3000"
    assert env(containers(commercial)["api"])["PORT"] == "8080"
    assert containers(commercial)["api"]["portMappings"] == [{"containerPort": 8080, "protocol": "tcp"}]


def test_container_health_check_probes_the_health_path_with_node(commercial: Run):
    api = containers(commercial)["api"]
    command = api["healthCheck"]["command"]
    # Exec form: images without a shell (distroless) can run it too.
    assert command[:3] == ["CMD", "node", "-e"]
    assert "http://127.0.0.1:8080/api/healthz" in command[3]
    assert api["healthCheck"]["timeout"] <= 5 <= api["healthCheck"]["interval"]
    assert api["essential"] is True
    assert api["linuxParameters"]["initProcessEnabled"] is True
    assert 0 < api["stopTimeout"] <= 120


def test_logs_go_to_the_encrypted_log_group(commercial: Run):
    group = commercial.one("aws:cloudwatch/logGroup:LogGroup")
    assert group["name"] == "/platform/test/api"
    assert group["retentionInDays"] == 90
    assert group["kmsKeyId"] == COMMERCIAL.kms_key_arn
    for container in containers(commercial).values():
        log = container["logConfiguration"]
        assert log["logDriver"] == "awslogs"
        assert log["options"]["awslogs-group"] == "/platform/test/api"
        assert log["options"]["awslogs-region"] == "ap-northeast-1"
        assert log["options"]["awslogs-stream-prefix"] == container["name"]


def test_datadog_agent_runs_beside_the_api_only_when_asked(staging: Run, commercial: Run):
    assert set(containers(staging)) == {"api"}
    assert not {k for k in env(containers(staging)["api"]) if k.startswith("DD_")}
    agent = containers(commercial)["datadog-agent"]
    assert agent["image"] == "public.ecr.aws/datadog/agent:7"
    assert (
        env(agent).items()
        >= {"DD_SITE": "ap1.datadoghq.com", "ECS_FARGATE": "true", "DD_APM_ENABLED": "true"}.items()
    )
    # Telemetry failing must not stop the API.
    assert agent["essential"] is False
    app = env(containers(commercial)["api"])
    assert app["DD_AGENT_HOST"] == "127.0.0.1"
    assert app["DD_TRACE_AGENT_URL"] == "http://127.0.0.1:8126"
    assert app["DD_ENV"] == "prod-commercial"


def task_volumes(run: Run) -> dict[str, dict]:
    return {v["name"]: v for v in run.one(TASK)["volumes"]}


def mounts(container: dict) -> dict[str, dict]:
    return {m["containerPath"]: m for m in container.get("mountPoints", [])}


def test_every_container_has_a_read_only_root_filesystem_with_datadog(commercial: Run):
    definitions = containers(commercial)
    assert set(definitions) == {"api", "datadog-init", "datadog-agent"}
    for container in definitions.values():
        assert container["readonlyRootFilesystem"] is True, container["name"]


def test_agent_writes_only_to_its_own_task_storage(commercial: Run):
    definitions = containers(commercial)
    agent_mounts = mounts(definitions["datadog-agent"])
    # The paths the agent writes at run time (docs.datadoghq.com/containers/guide/readonly-root-filesystem).
    for path in ("/etc/datadog-agent", "/opt/datadog-agent/run", "/var/run/datadog", "/tmp"):
        assert agent_mounts[path]["readOnly"] is False, path
    volumes = task_volumes(commercial)
    for mount in agent_mounts.values():
        # Fargate task storage: no host path, EFS or EBS behind the volume.
        assert set(volumes[mount["sourceVolume"]]) <= {"name", "configureAtLaunch"}
    # Each path its own volume, and none shared with the API's scratch space.
    agent_volumes = [m["sourceVolume"] for m in agent_mounts.values()]
    assert len(set(agent_volumes)) == len(agent_volumes)
    assert not set(agent_volumes) & {m["sourceVolume"] for m in definitions["api"]["mountPoints"]}


def test_agent_starts_once_the_init_container_has_filled_its_configuration(commercial: Run):
    definitions = containers(commercial)
    agent, init = definitions["datadog-agent"], definitions["datadog-init"]
    assert agent["dependsOn"] == [{"containerName": "datadog-init", "condition": "SUCCESS"}]
    # A container others wait on for SUCCESS must be non-essential: it exits when done.
    assert init["essential"] is False
    assert init["image"] == agent["image"]
    [init_mount] = init["mountPoints"]
    assert init_mount["readOnly"] is False
    # The init container writes into the very volume the agent reads its configuration from.
    assert init_mount["sourceVolume"] == mounts(agent)["/etc/datadog-agent"]["sourceVolume"]
    shell, flag, script = init["command"]
    assert (shell, flag) == ("sh", "-c")
    assert script.startswith("cp -R /etc/datadog-agent/")
    assert script.split()[-1].rstrip("/") == init_mount["containerPath"]
    # Nothing of the image's own entrypoint runs, so it needs no API key.
    assert "secrets" not in init and "environment" not in init
    assert init["memory"] <= 128


def test_no_datadog_containers_or_volumes_without_datadog(staging: Run):
    assert set(containers(staging)) == {"api"}
    assert set(task_volumes(staging)) == {"tmp"}


# -- cluster and service ------------------------------------------------------------------------


def test_cluster_insights_and_capacity_providers(staging: Run, commercial: Run):
    assert staging.one("aws:ecs/cluster:Cluster")["settings"] == [
        {"name": "containerInsights", "value": "disabled"}
    ]
    assert commercial.one("aws:ecs/cluster:Cluster")["settings"] == [
        {"name": "containerInsights", "value": "enabled"}
    ]
    providers = staging.one("aws:ecs/clusterCapacityProviders:ClusterCapacityProviders")
    assert sorted(providers["capacityProviders"]) == ["FARGATE", "FARGATE_SPOT"]


def test_deployments_roll_back_on_failure_and_keep_full_capacity(staging: Run):
    service = staging.one(SERVICE)
    assert service["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert service["deploymentMinimumHealthyPercent"] == 100
    assert service["deploymentMaximumPercent"] == 200
    assert service["enableExecuteCommand"] is False
    assert service["propagateTags"] == "SERVICE"
    assert service["loadBalancers"] == [
        {
            "targetGroupArn": staging.one(TARGET_GROUP).outputs["arn"],
            "containerName": "api",
            "containerPort": 3000,
        }
    ]


def test_the_autoscaler_owns_the_desired_count(staging: Run, commercial: Run):
    for run in (staging, commercial):
        service = run.one(SERVICE)
        assert "desiredCount" in service.ignore_changes
    assert commercial.one(SERVICE)["desiredCount"] == 3


def test_tasks_are_private_without_public_ip_unless_there_is_no_nat(staging: Run, commercial: Run):
    private = commercial.one(SERVICE)["networkConfiguration"]
    assert private == {"subnets": PRIVATE, "securityGroups": ["sg-task"], "assignPublicIp": False}
    public = staging.one(SERVICE)["networkConfiguration"]
    assert public["subnets"] == PUBLIC and public["assignPublicIp"] is True
    assert public["securityGroups"] == ["sg-task"]


def test_spot_keeps_an_on_demand_base(spot: Run, staging: Run):
    service = spot.one(SERVICE)
    assert "launchType" not in service.inputs
    strategies = {s["capacityProvider"]: s for s in service["capacityProviderStrategies"]}
    assert strategies["FARGATE"]["base"] == 2
    assert strategies["FARGATE_SPOT"]["weight"] == 3
    assert not strategies["FARGATE_SPOT"].get("base")
    regular = staging.one(SERVICE)["capacityProviderStrategies"]
    assert [s["capacityProvider"] for s in regular] == ["FARGATE"]


# -- load balancer ------------------------------------------------------------------------------


def test_alb_drops_invalid_headers_and_logs_to_the_bucket(staging: Run, commercial: Run):
    for run in (staging, commercial):
        alb = run.one(ALB)
        assert alb["loadBalancerType"] == "application"
        assert alb["dropInvalidHeaderFields"] is True
        # The storage bucket policy allows alb/AWSLogs/<account>/*.
        assert alb["accessLogs"] == {"bucket": "platform-test-access-logs", "prefix": "alb", "enabled": True}
        assert alb["securityGroups"] == ["sg-alb"]
        assert len(alb["name"]) <= 32
    assert staging.one(ALB)["enableDeletionProtection"] is False
    assert commercial.one(ALB)["enableDeletionProtection"] is True


def test_alb_is_public_in_public_subnets_or_internal_in_private_ones(staging: Run, commercial: Run):
    assert staging.one(ALB)["internal"] is False
    assert staging.one(ALB)["subnets"] == PUBLIC
    assert commercial.one(ALB)["internal"] is True
    assert commercial.one(ALB)["subnets"] == PRIVATE


def test_target_group_checks_health_on_the_app_path(commercial: Run):
    group = commercial.one(TARGET_GROUP)
    assert group["targetType"] == "ip"
    assert group["protocol"] == "HTTP"
    assert group["port"] == 8080
    assert group["deregistrationDelay"] == 30
    assert group["healthCheck"]["path"] == "/api/healthz"
    assert group["healthCheck"]["matcher"] == "200-399"
    assert len(group["name"]) <= 32


def test_https_with_tls13_and_http_redirects_when_a_certificate_is_given(commercial: Run, spot: Run):
    for run in (commercial, spot):
        https = listener_on(run, 443)
        assert https["protocol"] == "HTTPS"
        assert https["sslPolicy"].startswith("ELBSecurityPolicy-TLS13-1-2-")
        assert https["certificateArn"] == CERTIFICATE
        assert https["defaultActions"] == [
            {"type": "forward", "targetGroupArn": run.one(TARGET_GROUP).outputs["arn"]}
        ]
        [redirect] = listener_on(run, 80)["defaultActions"]
        assert redirect["type"] == "redirect"
        assert redirect["redirect"] == {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}
        assert run.warnings == []
        assert run.output("listener_port") == 443


def test_http_only_with_a_warning_without_a_certificate(staging: Run):
    [listener] = staging.of_type(LISTENER)
    assert listener["port"] == 80 and listener["protocol"] == "HTTP"
    assert listener["defaultActions"][0]["type"] == "forward"
    [warning] = staging.warnings
    assert "HTTP" in warning and "platform:dns.domain" in warning
    assert staging.output("listener_port") == 80


# -- autoscaling and business hours -------------------------------------------------------------


def test_target_tracking_on_cpu_and_requests_per_task(staging: Run, commercial: Run):
    target = commercial.one(SCALING_TARGET)
    assert target["resourceId"] == commercial.output("scalable_target_resource_id")
    assert target["resourceId"] == "service/platform-test/platform-test-api"
    assert (target["minCapacity"], target["maxCapacity"]) == (3, 6)
    goals = {}
    for policy in commercial.of_type(POLICY):
        configuration = policy["targetTrackingScalingPolicyConfiguration"]
        goals[configuration["predefinedMetricSpecification"]["predefinedMetricType"]] = configuration
    cpu = goals["ECSServiceAverageCPUUtilization"]
    assert cpu["targetValue"] == 60
    assert cpu["scaleInCooldown"] > cpu["scaleOutCooldown"]
    requests = goals["ALBRequestCountPerTarget"]
    assert requests["targetValue"] == 1000
    label = f"{commercial.output('alb_arn_suffix')}/{commercial.output('target_group_arn_suffix')}"
    assert requests["predefinedMetricSpecification"]["resourceLabel"] == label
    # Without requestsPerTarget, CPU is the only goal.
    assert len(staging.of_type(POLICY)) == 1


def scheduled_actions(run: Run) -> dict[str, dict]:
    return {a.name.removeprefix("compute-"): a.plain_inputs for a in run.of_type(SCHEDULED)}


def fires_on(actions: dict[str, dict], day: date) -> dict[str, list[datetime]]:
    """Action name -> when it fires on ``day``, read as AWS reads the cron (tests/aws_cron.py)."""
    return {name: Cron(a["schedule"]).on(day) for name, a in actions.items() if Cron(a["schedule"]).on(day)}


def test_stop_mode_empties_the_service_at_night(staging: Run):
    actions = scheduled_actions(staging)
    # One start per month of the 12-month horizon from December 2026, and the nightly stop.
    assert set(actions) == {"stop"} | {"start-2026-12"} | {f"start-2027-{m:02d}" for m in range(1, 12)}
    assert actions["stop"]["scalableTargetAction"] == {"minCapacity": 0, "maxCapacity": 0}
    for name, action in actions.items():
        assert action["timezone"] == "Asia/Tokyo"
        assert action["resourceId"] == "service/platform-test/platform-test-api"
        if name != "stop":
            assert action["scalableTargetAction"] == {"minCapacity": 1, "maxCapacity": 2}
    thursday = date(2026, 12, 3)
    assert fires_on(actions, thursday) == {
        "start-2026-12": [datetime(2026, 12, 3, 8, 45)],
        "stop": [datetime(2026, 12, 3, 20, 0)],
    }
    # New Year's Day (a Friday, from the holidays library's Japan): only the stop fires.
    assert fires_on(actions, date(2027, 1, 1)) == {"stop": [datetime(2027, 1, 1, 20, 0)]}


def test_scale_down_mode_lowers_the_floor_and_restores_it(commercial: Run):
    actions = scheduled_actions(commercial)
    assert actions["stop"]["scalableTargetAction"] == {"minCapacity": 2, "maxCapacity": 6}
    assert {a["timezone"] for a in actions.values()} == {"Europe/London"}
    saturday = date(2026, 12, 5)  # weekdays MON-SAT
    assert fires_on(actions, saturday)["start-2026-12"] == [datetime(2026, 12, 5, 7, 30)]
    assert actions["start-2026-12"]["scalableTargetAction"] == {"minCapacity": 3, "maxCapacity": 6}
    # Boxing Day 2026 is a Saturday; its substitute holiday is Monday 28 December (UK calendar).
    assert "start-2026-12" not in fires_on(actions, date(2026, 12, 28))


def _target(args: ComputeArgs) -> dict:
    run = run_stack("compute-target", config=CONFIG, program=program(args))
    return run.one(SCALING_TARGET)


def test_the_scalable_target_holds_the_current_periods_counts(staging: Run, spot: Run):
    """No ignore_changes: each `pulumi up` sets what the last scheduled action set, so min/max
    changes apply at once instead of at the next start (and a night `up` does not start tasks)."""
    target = staging.one(SCALING_TARGET)
    assert target.ignore_changes == ()
    assert (target["minCapacity"], target["maxCapacity"]) == (1, 2)
    night = _target(make_args(**{**STAGING.__dict__, "now": NIGHT}))
    assert (night["minCapacity"], night["maxCapacity"]) == (0, 0)
    holiday = _target(make_args(**{**STAGING.__dict__, "now": datetime(2027, 1, 1, 12, 0)}))
    assert (holiday["minCapacity"], holiday["maxCapacity"]) == (0, 0)
    assert spot.one(SCALING_TARGET).ignore_changes == ()
    assert spot.of_type(SCHEDULED) == []


def test_an_update_near_a_boundary_takes_the_next_periods_counts():
    """An update registers the target minutes after the program read the clock: started at 08:10
    (the tasks start at 08:45, 09:00 less the 15-minute warm-up), it must not register the night's
    0/0 after the start action fired, nor the day's counts after the 20:00 stop."""

    # Wednesday 2 December 2026, an open day in Tokyo.
    def counts(hour: int, minute: int) -> tuple[int, int]:
        target = _target(make_args(**{**STAGING.__dict__, "now": datetime(2026, 12, 2, hour, minute)}))
        return target["minCapacity"], target["maxCapacity"]

    assert counts(7, 50) == (0, 0)  # 55 minutes before the start: still the night
    assert counts(8, 10) == (1, 2)  # 35 minutes before: the day, a little early
    assert counts(19, 10) == (1, 2)  # 50 minutes before the stop: still the day
    assert counts(19, 30) == (0, 0)  # 30 minutes before: the night, a little early


def test_a_min_count_change_reaches_the_target_and_the_actions_at_once():
    settings = STAGING.settings.model_copy(update={"min_count": 2, "max_count": 4})
    run = run_stack(
        "compute-min", config=CONFIG, program=program(make_args(**{**STAGING.__dict__, "settings": settings}))
    )
    assert (run.one(SCALING_TARGET)["minCapacity"], run.one(SCALING_TARGET)["maxCapacity"]) == (2, 4)
    starts = [a for name, a in scheduled_actions(run).items() if name.startswith("start-")]
    assert starts and all(a["scalableTargetAction"] == {"minCapacity": 2, "maxCapacity": 4} for a in starts)


def test_equal_floors_make_no_schedule():
    schedule = COMMERCIAL.schedule.model_copy(update={"off_hours_min_count": 3})
    run = run_stack(
        "compute-equal",
        config=CONFIG,
        program=program(make_args(**{**COMMERCIAL.__dict__, "schedule": schedule})),
    )
    assert run.of_type(SCHEDULED) == []
    assert (run.one(SCALING_TARGET)["minCapacity"], run.one(SCALING_TARGET)["maxCapacity"]) == (3, 6)


def test_changes_to_the_scalable_target_are_serialised(commercial: Run):
    """Application Auto Scaling rejects concurrent updates of one target, so each waits for the last."""
    months = sorted(n for n in scheduled_actions(commercial) if n.startswith("start-"))
    names = ["scaling-target", "scale-on-cpu", "scale-on-requests", *months, "stop"]
    chain = [commercial.named(f"compute-{n}") for n in names]
    assert len(commercial.of_type(POLICY)) + len(commercial.of_type(SCHEDULED)) == len(chain) - 1
    for earlier, later in itertools.pairwise(chain):
        assert earlier.urn in later.dependencies


def test_elb_names_fit_and_stay_distinct_for_long_stacks():
    first = elb_name("platform-customer-acceptance-eu-1", "api-3000")
    second = elb_name("platform-customer-acceptance-eu-2", "api-3000")
    assert len(first) <= 32 and len(second) <= 32 and first != second
    assert not first.endswith("-") and elb_name("platform-test", "api") == "platform-test-api"
