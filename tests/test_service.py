"""One Service under the recording mocks: its task, ECS service, route, roles, scaling and hours."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime

import pulumi
import pytest

from components.cluster import Cluster, ClusterArgs
from components.containers import DatadogSidecar
from components.service import Egress, Routing, Service, ServiceArgs
from components.settings import ScheduleSettings, ServiceSettings
from tests.aws_cron import Cron
from tools.harness import Run, run_stack
from tools.mocks import ACCOUNT_ID

REGION = "ap-northeast-1"
CONFIG = {"aws:region": REGION, "platform:topology": "staging"}
SSM = f"arn:aws:ssm:{REGION}:{ACCOUNT_ID}:parameter/platform/test"
SECRETS = {
    "DATABASE_URL": f"{SSM}/DATABASE_URL",
    "MONGODB_URI": f"{SSM}/MONGODB_URI",
    "SENTRY_DSN": f"{SSM}/API_SENTRY_DSN",
}
DD_KEY_ARN = f"{SSM}/DD_API_KEY"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
REPOSITORY_ARN = f"arn:aws:ecr:{REGION}:{ACCOUNT_ID}:repository/platform-test-api"
IMAGE = f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/platform-test-api:1.2.3"
LOG_GROUP = "/platform/test/api"
LISTENER_ARN = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT_ID}:listener/app/platform-test-alb/50dc6c495c0c9188/f2f7dc8efc522ab2"
ALB_SUFFIX = "app/platform-test-alb/50dc6c495c0c9188"
ALB_SG = "sg-0alb0000000000000"
PUBLIC = ["subnet-public-a", "subnet-public-c"]
PRIVATE = ["subnet-private-a", "subnet-private-c"]

TASK = "aws:ecs/taskDefinition:TaskDefinition"
SERVICE = "aws:ecs/service:Service"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
RULE = "aws:lb/listenerRule:ListenerRule"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
SCALING_TARGET = "aws:appautoscaling/target:Target"
POLICY = "aws:appautoscaling/policy:Policy"
SCHEDULED = "aws:appautoscaling/scheduledAction:ScheduledAction"

# A Wednesday in December, during business hours: the horizon crosses into next year.
DAYTIME = datetime(2026, 12, 2, 10, 30)
NIGHT = datetime(2026, 12, 2, 22, 0)

STOP_HOURS = ScheduleSettings(
    mode="stop", timezone="Asia/Tokyo", start="09:00", stop="20:00", warm_up_minutes=15
)
SCALE_DOWN_HOURS = ScheduleSettings(
    mode="scale-down",
    timezone="Europe/London",
    start="08:00",
    stop="23:00",
    weekdays="MON-SAT",
    warm_up_minutes=30,
    off_hours_min_count=2,
    holiday_country="GB",
)


def routing(host: str | None = "api.example.com") -> Routing:
    return Routing(
        listener_arn=LISTENER_ARN,
        load_balancer_arn_suffix=ALB_SUFFIX,
        load_balancer_security_group_id=ALB_SG,
        host=host,
    )


def make_args(**changes) -> ServiceArgs:
    base = dict(
        service="api",
        settings=ServiceSettings(subdomain="api"),
        schedule=STOP_HOURS,
        deployment_timeout_minutes=20,
        name_prefix="platform-test",
        region=REGION,
        vpc_id="vpc-0123456789abcdef0",
        subnet_ids=PRIVATE,
        assign_public_ip=False,
        cluster=None,  # the program's cluster
        image=IMAGE,
        repository_arn=REPOSITORY_ARN,
        log_group_name=LOG_GROUP,
        kms_key_arn=KEY_ARN,
        secrets=SECRETS,
        routing=routing(),
        now=DAYTIME,
    )
    base.update(changes)
    return ServiceArgs(**base)


def program(*services: ServiceArgs, container_insights: bool = False) -> Callable[[], None]:
    def run() -> None:
        cluster = Cluster(
            "cluster", ClusterArgs(name_prefix="platform-test", container_insights=container_insights)
        )
        for args in services:
            service = Service(args.service, replace(args, cluster=cluster))
            # The component's outputs drop a None; whether the service is served is exported here.
            pulumi.export(f"{args.service}.served", service.target_group_arn_suffix is not None)

    return run


# Staging-like: no NAT (public subnets, own public IPs), no domain (every path), stopped at night.
STAGING = make_args(
    settings=ServiceSettings(subdomain="api-staging", environment={"LOG_LEVEL": "info"}),
    assign_public_ip=True,
    subnet_ids=PUBLIC,
    routing=routing(host=None),
)
# Commercial-like: private tasks, served at its host, floor lowered at night, request-count
# scaling, the Datadog agent, a tag that moves.
COMMERCIAL = make_args(
    settings=ServiceSettings(
        subdomain="api",
        cpu=1024,
        memory=2048,
        desired_count=3,
        min_count=3,
        max_count=6,
        requests_per_target=1000,
        port=8080,
        health_check_path="/api/healthz",
        log_retention_days=90,
    ),
    schedule=SCALE_DOWN_HOURS,
    image_tag_moves=True,
    datadog=DatadogSidecar(
        site="ap1.datadoghq.com",
        agent_image="public.ecr.aws/datadog/agent:7",
        api_key_parameter_arn=DD_KEY_ARN,
        env="prod-commercial",
    ),
)
# Spot with an on-demand base, no business hours.
SPOT = make_args(
    settings=ServiceSettings(
        subdomain="api",
        architecture="X86_64",
        spot=True,
        on_demand_base=2,
        spot_weight=3,
        min_count=2,
        max_count=8,
    ),
    schedule=ScheduleSettings(enabled=False),
)
# A Next.js-like web: no secrets of the data stores, a second writable path.
WEB = make_args(
    service="web",
    settings=ServiceSettings(
        subdomain="www", health_check_path="/api/health", writable_paths=("/tmp", "/app/.next/cache")
    ),
    repository_arn=f"arn:aws:ecr:{REGION}:{ACCOUNT_ID}:repository/platform-test-web",
    image=f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/platform-test-web:1.2.3",
    log_group_name="/platform/test/web",
    secrets={"SENTRY_DSN": f"{SSM}/WEB_SENTRY_DSN"},
    routing=routing(host="www.example.com"),
)
# Not served, from another registry, no secrets.
WORKER = make_args(
    service="worker",
    settings=ServiceSettings(),
    image="ghcr.io/example/worker:1.2.3",
    repository_arn=None,
    log_group_name="/platform/test/worker",
    secrets={},
    routing=None,
)


@pytest.fixture(scope="module")
def staging() -> Run:
    return run_stack("service-staging", config=CONFIG, program=program(STAGING))


@pytest.fixture(scope="module")
def commercial() -> Run:
    return run_stack(
        "service-commercial", config=CONFIG, program=program(COMMERCIAL, container_insights=True)
    )


@pytest.fixture(scope="module")
def spot() -> Run:
    return run_stack("service-spot", config=CONFIG, program=program(SPOT))


@pytest.fixture(scope="module")
def pair() -> Run:
    """The API and the web on one listener."""
    return run_stack("service-pair", config=CONFIG, program=program(COMMERCIAL, WEB))


@pytest.fixture(scope="module")
def worker() -> Run:
    return run_stack("service-worker", config=CONFIG, program=program(WORKER))


def of(run: Run, type_: str, service: str = "api") -> list:
    """The resources of a type that belong to one service's component."""
    component = run.named(service)
    return [r for r in run.of_type(type_) if run.component_of(r) is component]


def one(run: Run, type_: str, service: str = "api"):
    [resource] = of(run, type_, service)
    return resource


def containers(run: Run, service: str = "api") -> dict[str, dict]:
    definitions = json.loads(one(run, TASK, service)["containerDefinitions"])
    return {c["name"]: c for c in definitions}


def env(container: dict) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("environment", [])}


def task_volumes(run: Run, service: str = "api") -> dict[str, dict]:
    return {v["name"]: v for v in one(run, TASK, service)["volumes"]}


def mounts(container: dict) -> dict[str, dict]:
    return {m["containerPath"]: m for m in container.get("mountPoints", [])}


def as_list(value: str | list[str]) -> list[str]:
    return value if isinstance(value, list) else [value]


def granted(run: Run, service: str = "api") -> dict[str, list[str]]:
    """Action -> resources of the service's execution role policy."""
    policy = one(run, ROLE_POLICY, service)
    actions: dict[str, list[str]] = {}
    for statement in json.loads(policy["policy"])["Statement"]:
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            actions[action] = as_list(statement["Resource"])
    return actions


# -- component shape ----------------------------------------------------------------------------


def test_every_resource_is_a_child_of_its_component(staging: Run, worker: Run, pair: Run):
    for run, names in ((staging, ["api"]), (worker, ["worker"]), (pair, ["api", "web"])):
        for name in names:
            component = run.named(name)
            assert component.type == "platform:service:Service"
            children = run.children(component)
            assert children and all(c.custom for c in children)
        owned = [r for r in run.resources if r.custom and run.component_of(r) is not None]
        assert all(run.component_of(r).name in {*names, "cluster"} for r in owned)


def test_outputs_point_at_the_resources(commercial: Run, worker: Run):
    outputs = commercial.named("api").outputs
    assert outputs["service_name"] == "platform-test-api" == one(commercial, SERVICE)["name"]
    assert outputs["security_group_id"] == one(commercial, SG).id
    assert outputs["task_definition_arn"] == one(commercial, TASK).outputs["arn"]
    assert outputs["log_group_name"] == LOG_GROUP
    assert outputs["execution_role_name"] == "platform-test-api-execution"
    assert outputs["task_role_arn"] == f"arn:aws:iam::{ACCOUNT_ID}:role/platform-test-api-task"
    assert outputs["target_group_arn_suffix"] == one(commercial, TARGET_GROUP).outputs["arnSuffix"]
    assert outputs["scalable_target_resource_id"] == "service/platform-test/platform-test-api"
    assert commercial.output("api.served") is True
    assert worker.output("worker.served") is False


# -- task definition ----------------------------------------------------------------------------


def test_fargate_size_and_architecture_pass_through(commercial: Run, spot: Run, staging: Run):
    task = one(commercial, TASK)
    assert (task["cpu"], task["memory"]) == ("1024", "2048")
    assert task["requiresCompatibilities"] == ["FARGATE"]
    assert task["networkMode"] == "awsvpc"
    assert task["runtimePlatform"] == {"operatingSystemFamily": "LINUX", "cpuArchitecture": "ARM64"}
    assert task["family"] == "platform-test-api"
    assert task["executionRoleArn"] == f"arn:aws:iam::{ACCOUNT_ID}:role/platform-test-api-execution"
    assert task["taskRoleArn"] == f"arn:aws:iam::{ACCOUNT_ID}:role/platform-test-api-task"
    assert one(spot, TASK)["runtimePlatform"]["cpuArchitecture"] == "X86_64"
    # The defaults: the smallest Fargate size on Graviton.
    staged = one(staging, TASK)
    assert (staged["cpu"], staged["memory"], staged["runtimePlatform"]["cpuArchitecture"]) == (
        "256",
        "512",
        "ARM64",
    )


def test_root_filesystem_is_read_only_with_a_writable_tmp_volume(staging: Run):
    api = containers(staging)["api"]
    assert api["readonlyRootFilesystem"] is True
    [mount] = api["mountPoints"]
    assert mount == {"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}
    # Task (ephemeral) storage: no host path, EFS or EBS behind the volume.
    assert task_volumes(staging) == {"tmp": {"name": "tmp"}}


def test_each_writable_path_is_its_own_task_storage_volume(pair: Run):
    web = containers(pair, "web")["web"]
    assert mounts(web) == {
        "/tmp": {"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False},
        "/app/.next/cache": {
            "sourceVolume": "app-next-cache",
            "containerPath": "/app/.next/cache",
            "readOnly": False,
        },
    }
    assert task_volumes(pair, "web") == {"tmp": {"name": "tmp"}, "app-next-cache": {"name": "app-next-cache"}}


def test_secrets_are_injected_by_reference_and_never_as_environment(staging: Run, commercial: Run, pair: Run):
    for run, service, expected in (
        (staging, "api", SECRETS),
        (commercial, "api", SECRETS),
        (pair, "web", {"SENTRY_DSN": f"{SSM}/WEB_SENTRY_DSN"}),
    ):
        app = containers(run, service)[service]
        assert {s["name"]: s["valueFrom"] for s in app["secrets"]} == expected
        plain = env(app)
        assert not set(plain) & {*SECRETS, "DD_API_KEY"}
        for value in plain.values():
            assert "arn:aws:ssm" not in value and "parameter/" not in value
    agent = containers(commercial)["datadog-agent"]
    assert agent["secrets"] == [{"name": "DD_API_KEY", "valueFrom": DD_KEY_ARN}]
    assert "DD_API_KEY" not in env(agent)


def test_a_secret_that_is_also_a_plain_variable_is_refused():
    args = make_args(
        settings=ServiceSettings(subdomain="api", environment={"REDIS_URL": "redis://cache:6379"}),
        secrets={**SECRETS, "REDIS_URL": f"{SSM}/REDIS_URL"},
    )
    with pytest.raises(ValueError, match="REDIS_URL"):
        run_stack("service-clash", config=CONFIG, program=program(args))


def test_environment_has_the_settings_production_mode_and_port(staging: Run, commercial: Run):
    plain = env(containers(staging)["api"])
    assert plain == {"LOG_LEVEL": "info", "NODE_ENV": "production", "PORT": "3000"}
    assert env(containers(commercial)["api"])["PORT"] == "8080"
    assert containers(commercial)["api"]["portMappings"] == [{"containerPort": 8080, "protocol": "tcp"}]


def test_container_health_check_probes_the_health_path_with_node(commercial: Run, pair: Run):
    api = containers(commercial)["api"]
    command = api["healthCheck"]["command"]
    # Exec form: images without a shell (distroless) can run it too.
    assert command[:3] == ["CMD", "node", "-e"]
    assert "http://127.0.0.1:8080/api/healthz" in command[3]
    assert "http://127.0.0.1:3000/api/health" in containers(pair, "web")["web"]["healthCheck"]["command"][3]
    # ECS: the timeout is 2-60 s and the interval 5-300 s (API_HealthCheck.html).
    assert 2 <= api["healthCheck"]["timeout"] <= 5 <= api["healthCheck"]["interval"] <= 300
    assert api["essential"] is True
    assert api["linuxParameters"]["initProcessEnabled"] is True
    # Fargate's stopTimeout is at most 120 s (API_ContainerDefinition.html, stopTimeout).
    assert 0 < api["stopTimeout"] <= 120


def test_a_moving_tag_is_pulled_at_every_task_start(commercial: Run, staging: Run):
    # "disabled": ECS does not pin the tag to the digest it resolved at deployment
    # (docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html,
    # versionConsistency).
    assert containers(commercial)["api"]["versionConsistency"] == "disabled"
    # A tag that never moves keeps ECS's default (the digest of the deployment).
    assert "versionConsistency" not in containers(staging)["api"]
    for name, container in containers(commercial).items():
        if name != "api":
            assert "versionConsistency" not in container


def test_logs_go_to_the_encrypted_log_group(commercial: Run):
    group = one(commercial, "aws:cloudwatch/logGroup:LogGroup")
    assert group["name"] == LOG_GROUP
    assert group["retentionInDays"] == 90
    assert group["kmsKeyId"] == KEY_ARN
    for container in containers(commercial).values():
        log = container["logConfiguration"]
        assert log["logDriver"] == "awslogs"
        assert log["options"]["awslogs-group"] == LOG_GROUP
        assert log["options"]["awslogs-region"] == REGION
        assert log["options"]["awslogs-stream-prefix"] == container["name"]


def test_datadog_agent_runs_beside_the_app_only_when_asked(staging: Run, commercial: Run):
    assert set(containers(staging)) == {"api"}
    assert not {k for k in env(containers(staging)["api"]) if k.startswith("DD_")}
    agent = containers(commercial)["datadog-agent"]
    assert agent["image"] == "public.ecr.aws/datadog/agent:7"
    assert (
        env(agent).items()
        >= {"DD_SITE": "ap1.datadoghq.com", "ECS_FARGATE": "true", "DD_APM_ENABLED": "true"}.items()
    )
    # Telemetry failing must not stop the app.
    assert agent["essential"] is False
    app = env(containers(commercial)["api"])
    assert app["DD_AGENT_HOST"] == "127.0.0.1"
    assert app["DD_TRACE_AGENT_URL"] == "http://127.0.0.1:8126"
    assert app["DD_ENV"] == "prod-commercial"
    assert app["DD_SERVICE"] == "api"


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
    # Each path its own volume, and none shared with the app's scratch space.
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


# -- cluster and ECS service --------------------------------------------------------------------


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
    service = one(staging, SERVICE)
    assert service["name"] == "platform-test-api"
    assert service["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert service["deploymentMinimumHealthyPercent"] == 100
    assert service["deploymentMaximumPercent"] == 200
    assert service["enableExecuteCommand"] is False
    assert service["propagateTags"] == "SERVICE"
    assert service["waitForSteadyState"] is True
    assert service.custom_timeouts.get("update") == "20m"
    assert service["loadBalancers"] == [
        {
            "targetGroupArn": one(staging, TARGET_GROUP).outputs["arn"],
            "containerName": "api",
            "containerPort": 3000,
        }
    ]


def test_the_service_waits_for_its_rule_and_the_capacity_providers(staging: Run, worker: Run):
    """ECS refuses a target group no listener uses yet, and a strategy whose providers are not
    attached to the cluster."""
    providers = staging.one("aws:ecs/clusterCapacityProviders:ClusterCapacityProviders")
    service = one(staging, SERVICE)
    assert one(staging, RULE).urn in service.dependencies
    assert providers.urn in service.dependencies
    unserved = one(worker, SERVICE, "worker")
    assert (
        worker.one("aws:ecs/clusterCapacityProviders:ClusterCapacityProviders").urn in unserved.dependencies
    )
    assert not unserved.get("loadBalancers") and unserved.get("healthCheckGracePeriodSeconds") is None


def test_the_autoscaler_owns_the_desired_count(staging: Run, commercial: Run):
    for run in (staging, commercial):
        assert "desiredCount" in one(run, SERVICE).ignore_changes
    assert one(commercial, SERVICE)["desiredCount"] == 3


def test_tasks_are_private_without_public_ip_unless_there_is_no_nat(staging: Run, commercial: Run):
    group = one(commercial, SG).id
    private = one(commercial, SERVICE)["networkConfiguration"]
    assert private == {"subnets": PRIVATE, "securityGroups": [group], "assignPublicIp": False}
    public = one(staging, SERVICE)["networkConfiguration"]
    assert public == {"subnets": PUBLIC, "securityGroups": [one(staging, SG).id], "assignPublicIp": True}


def test_spot_keeps_an_on_demand_base(spot: Run, staging: Run):
    service = one(spot, SERVICE)
    assert "launchType" not in service.inputs
    strategies = {s["capacityProvider"]: s for s in service["capacityProviderStrategies"]}
    assert set(strategies) == {"FARGATE", "FARGATE_SPOT"}
    assert strategies["FARGATE"]["base"] == 2
    assert strategies["FARGATE_SPOT"]["weight"] == 3
    assert not strategies["FARGATE_SPOT"].get("base")
    regular = one(staging, SERVICE)["capacityProviderStrategies"]
    assert [s["capacityProvider"] for s in regular] == ["FARGATE"]


# -- security group -----------------------------------------------------------------------------


def _ways(run: Run, type_: str, group: str) -> set[tuple]:
    return {
        (r["ipProtocol"], r["fromPort"], r["toPort"], r.get("cidrIpv4") or r.get("referencedSecurityGroupId"))
        for r in run.of_type(type_)
        if r["securityGroupId"] == group
    }


def test_the_tasks_reach_https_and_the_load_balancer_reaches_their_port(commercial: Run, worker: Run):
    group = one(commercial, SG)
    assert not group.get("ingress") and not group.get("egress")
    assert _ways(commercial, EGRESS, group.id) == {("tcp", 443, 443, "0.0.0.0/0")}
    assert _ways(commercial, INGRESS, group.id) == {("tcp", 8080, 8080, ALB_SG)}
    assert _ways(commercial, EGRESS, ALB_SG) == {("tcp", 8080, 8080, group.id)}
    # Not served: nothing comes in.
    unserved = one(worker, SG, "worker").id
    assert _ways(worker, EGRESS, unserved) == {("tcp", 443, 443, "0.0.0.0/0")}
    assert _ways(worker, INGRESS, unserved) == set() and _ways(worker, EGRESS, ALB_SG) == set()


def test_extra_egress_is_added_and_a_repeated_port_refused():
    legacy = Egress(6543, "0.0.0.0/0", "Cut-over only: pre-commercial PostgreSQL (Supabase pooler)")
    run = run_stack("service-egress", config=CONFIG, program=program(make_args(egress=[legacy])))
    assert _ways(run, EGRESS, one(run, SG).id) == {
        ("tcp", 443, 443, "0.0.0.0/0"),
        ("tcp", 6543, 6543, "0.0.0.0/0"),
    }
    # EC2 refuses a second rule of the same protocol, port and peer (InvalidPermission.Duplicate).
    with pytest.raises(ValueError, match="already open"):
        run_stack(
            "service-egress-443",
            config=CONFIG,
            program=program(make_args(egress=[Egress(443, "0.0.0.0/0", "again")])),
        )


# -- target group and listener rule -------------------------------------------------------------


def test_target_group_checks_health_on_the_app_path(commercial: Run):
    group = one(commercial, TARGET_GROUP)
    assert group["targetType"] == "ip"  # awsvpc tasks register by IP
    assert group["protocol"] == "HTTP"
    assert group["port"] == 8080
    assert group["vpcId"] == "vpc-0123456789abcdef0"
    assert group["deregistrationDelay"] == 30
    health = group["healthCheck"]
    assert (health["path"], health["matcher"], health["port"]) == ("/api/healthz", "200-399", "traffic-port")
    # ELB: the timeout must be shorter than the interval (CreateTargetGroup, HealthCheckTimeoutSeconds).
    assert health["timeout"] < health["interval"]
    # CreateTargetGroup Name: at most 32 alphanumerics or hyphens, not starting or ending in one.
    assert group["name"] == "platform-test-api-8080"


def test_the_rule_forwards_the_services_host_to_its_target_group(commercial: Run):
    rule = one(commercial, RULE)
    assert rule["listenerArn"] == LISTENER_ARN
    assert rule["conditions"] == [{"hostHeader": {"values": ["api.example.com"]}}]
    assert rule["actions"] == [
        {"type": "forward", "targetGroupArn": one(commercial, TARGET_GROUP).outputs["arn"]}
    ]
    # ELB rule priorities are 1-50000 (CreateRule, Priority).
    assert 1 <= rule["priority"] <= 50_000


def test_without_a_host_the_rule_takes_every_path(staging: Run):
    assert one(staging, RULE)["conditions"] == [{"pathPattern": {"values": ["/*"]}}]


def test_two_services_share_the_listener_with_distinct_priorities(pair: Run):
    """A listener refuses two rules of one priority (CreateRule: PriorityInUse)."""
    api, web = one(pair, RULE, "api"), one(pair, RULE, "web")
    assert api["listenerArn"] == web["listenerArn"] == LISTENER_ARN
    assert api["priority"] != web["priority"]
    assert web["conditions"] == [{"hostHeader": {"values": ["www.example.com"]}}]
    assert {one(pair, TARGET_GROUP, s)["name"] for s in ("api", "web")} == {
        "platform-test-api-8080",
        "platform-test-web-3000",
    }


def test_an_unserved_service_has_no_route(worker: Run):
    assert worker.of_type(TARGET_GROUP) == [] and worker.of_type(RULE) == []


# -- roles --------------------------------------------------------------------------------------


def test_execution_role_pulls_its_repo_writes_its_logs_and_reads_its_secrets(staging: Run):
    log_streams = f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{LOG_GROUP}:*"
    assert granted(staging) == {
        "ecr:GetAuthorizationToken": ["*"],
        "ecr:BatchCheckLayerAvailability": [REPOSITORY_ARN],
        "ecr:GetDownloadUrlForLayer": [REPOSITORY_ARN],
        "ecr:BatchGetImage": [REPOSITORY_ARN],
        "logs:CreateLogStream": [log_streams],
        "logs:PutLogEvents": [log_streams],
        "ssm:GetParameters": [f"{SSM}/DATABASE_URL", f"{SSM}/MONGODB_URI", f"{SSM}/API_SENTRY_DSN"],
        "kms:Decrypt": [KEY_ARN],
    }
    assert one(staging, ROLE_POLICY)["role"] == "platform-test-api-execution"


def test_the_execution_role_reads_the_datadog_key_only_with_the_agent(commercial: Run, staging: Run):
    assert sorted(granted(commercial)["ssm:GetParameters"]) == sorted([*SECRETS.values(), DD_KEY_ARN])
    assert DD_KEY_ARN not in granted(staging)["ssm:GetParameters"]


def test_secrets_are_decrypted_only_through_ssm(staging: Run):
    [decrypt] = [
        s
        for s in json.loads(one(staging, ROLE_POLICY)["policy"])["Statement"]
        if s["Action"] == "kms:Decrypt"
    ]
    # kms:ViaService limits the key's use to requests SSM makes on the role's behalf
    # (docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service).
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": f"ssm.{REGION}.amazonaws.com"}}


def test_each_service_reads_only_its_own_secrets_and_repo(pair: Run):
    web = granted(pair, "web")
    assert web["ssm:GetParameters"] == [f"{SSM}/WEB_SENTRY_DSN"]
    assert web["ecr:BatchGetImage"] == [f"arn:aws:ecr:{REGION}:{ACCOUNT_ID}:repository/platform-test-web"]
    assert web["logs:PutLogEvents"] == [f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:/platform/test/web:*"]


def test_an_image_from_another_registry_gets_no_ecr_statement(worker: Run):
    actions = granted(worker, "worker")
    assert actions == {
        "logs:CreateLogStream": [f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:/platform/test/worker:*"],
        "logs:PutLogEvents": [f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:/platform/test/worker:*"],
    }


def test_roles_trust_only_ecs_tasks_acting_for_this_account(staging: Run):
    roles = {r["name"]: r for r in of(staging, ROLE)}
    # IAM CreateRole: RoleName is at most 64 characters.
    assert set(roles) == {"platform-test-api-execution", "platform-test-api-task"}
    for role in roles.values():
        [statement] = json.loads(role["assumeRolePolicy"])["Statement"]
        assert statement["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
        assert statement["Action"] == "sts:AssumeRole"
        assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT_ID
    [task] = json.loads(roles["platform-test-api-task"]["assumeRolePolicy"])["Statement"]
    assert task["Condition"]["ArnLike"] == {"aws:SourceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT_ID}:*"}


def test_task_role_has_no_permissions(pair: Run):
    for service in ("api", "web"):
        task_role = pair.named(f"{service}-task-role")
        for type_ in (ROLE_POLICY, "aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
            assert all(r["role"] not in (task_role.id, task_role["name"]) for r in pair.of_type(type_))
        assert not task_role.get("managedPolicyArns") and not task_role.get("inlinePolicies")
    # One policy per execution role, none for anything else.
    assert sorted(p["role"] for p in pair.of_type(ROLE_POLICY)) == [
        "platform-test-api-execution",
        "platform-test-web-execution",
    ]


# -- autoscaling and business hours -------------------------------------------------------------


def goals(run: Run, service: str = "api") -> dict[str, dict]:
    found = {}
    for policy in of(run, POLICY, service):
        configuration = policy["targetTrackingScalingPolicyConfiguration"]
        found[configuration["predefinedMetricSpecification"]["predefinedMetricType"]] = configuration
    return found


def test_target_tracking_on_cpu_and_requests_per_task(staging: Run, commercial: Run):
    target = one(commercial, SCALING_TARGET)
    assert target["resourceId"] == "service/platform-test/platform-test-api"
    assert (target["serviceNamespace"], target["scalableDimension"]) == ("ecs", "ecs:service:DesiredCount")
    assert (target["minCapacity"], target["maxCapacity"]) == (3, 6)
    found = goals(commercial)
    cpu = found["ECSServiceAverageCPUUtilization"]
    assert cpu["targetValue"] == 60
    assert cpu["scaleInCooldown"] > cpu["scaleOutCooldown"]
    requests = found["ALBRequestCountPerTarget"]
    assert requests["targetValue"] == 1000
    # The label is app/<lb-name>/<lb-id>/targetgroup/<tg-name>/<tg-id>
    # (API_PredefinedMetricSpecification.html, ResourceLabel).
    suffix = one(commercial, TARGET_GROUP).outputs["arnSuffix"]
    assert suffix.startswith("targetgroup/")
    assert requests["predefinedMetricSpecification"]["resourceLabel"] == f"{ALB_SUFFIX}/{suffix}"
    # Without requestsPerTarget, CPU is the only goal.
    assert set(goals(staging)) == {"ECSServiceAverageCPUUtilization"}


def test_the_requests_policy_needs_a_route():
    unserved = replace(COMMERCIAL, routing=None)
    run = run_stack("service-unrouted", config=CONFIG, program=program(unserved))
    assert set(goals(run)) == {"ECSServiceAverageCPUUtilization"}


def scheduled_actions(run: Run, service: str = "api") -> dict[str, dict]:
    return {a.name.removeprefix(f"{service}-"): a.plain_inputs for a in of(run, SCHEDULED, service)}


def fires_on(actions: dict[str, dict], day: date) -> dict[str, list[datetime]]:
    """Action name -> when it fires on ``day``, read as AWS reads the cron (tests/aws_cron.py)."""
    return {name: Cron(a["schedule"]).on(day) for name, a in actions.items() if Cron(a["schedule"]).on(day)}


def test_stop_mode_empties_the_service_at_night(staging: Run):
    actions = scheduled_actions(staging)
    # One start per month of the 12-month horizon from December 2026, and the nightly stop.
    assert set(actions) == {"stop"} | {"start-2026-12"} | {f"start-2027-{m:02d}" for m in range(1, 12)}
    assert actions["stop"]["scalableTargetAction"] == {"minCapacity": 0, "maxCapacity": 0}
    assert actions["stop"]["name"] == "platform-test-api-stop"
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


def test_a_service_that_opts_out_of_the_schedule_runs_around_the_clock():
    always = replace(STAGING, settings=STAGING.settings.model_copy(update={"schedule": False}), now=NIGHT)
    run = run_stack("service-always", config=CONFIG, program=program(always))
    assert run.of_type(SCHEDULED) == []
    # At night too: the day's counts, never the stop's 0/0.
    assert (one(run, SCALING_TARGET)["minCapacity"], one(run, SCALING_TARGET)["maxCapacity"]) == (1, 2)


def _target(args: ServiceArgs) -> dict:
    run = run_stack("service-target", config=CONFIG, program=program(args))
    return one(run, SCALING_TARGET)


def test_the_scalable_target_holds_the_current_periods_counts(staging: Run, spot: Run):
    """No ignore_changes: each `pulumi up` sets what the last scheduled action set, so min/max
    changes apply at once instead of at the next start (and a night `up` does not start tasks)."""
    target = one(staging, SCALING_TARGET)
    assert target.ignore_changes == ()
    assert (target["minCapacity"], target["maxCapacity"]) == (1, 2)
    night = _target(replace(STAGING, now=NIGHT))
    assert (night["minCapacity"], night["maxCapacity"]) == (0, 0)
    holiday = _target(replace(STAGING, now=datetime(2027, 1, 1, 12, 0)))
    assert (holiday["minCapacity"], holiday["maxCapacity"]) == (0, 0)
    assert one(spot, SCALING_TARGET).ignore_changes == ()
    assert spot.of_type(SCHEDULED) == []


def test_an_update_near_a_boundary_takes_the_next_periods_counts():
    """An update registers the target minutes after the program read the clock: started at 08:10
    (the tasks start at 08:45, 09:00 less the 15-minute warm-up), it must not register the night's
    0/0 after the start action fired, nor the day's counts after the 20:00 stop."""

    # Wednesday 2 December 2026, an open day in Tokyo.
    def counts(hour: int, minute: int) -> tuple[int, int]:
        target = _target(replace(STAGING, now=datetime(2026, 12, 2, hour, minute)))
        return target["minCapacity"], target["maxCapacity"]

    assert counts(7, 50) == (0, 0)  # 55 minutes before the start: still the night
    assert counts(8, 10) == (1, 2)  # 35 minutes before: the day, a little early
    assert counts(19, 10) == (1, 2)  # 50 minutes before the stop: still the day
    assert counts(19, 30) == (0, 0)  # 30 minutes before: the night, a little early


def test_a_min_count_change_reaches_the_target_and_the_actions_at_once():
    settings = STAGING.settings.model_copy(update={"min_count": 2, "max_count": 4})
    run = run_stack("service-min", config=CONFIG, program=program(replace(STAGING, settings=settings)))
    assert (one(run, SCALING_TARGET)["minCapacity"], one(run, SCALING_TARGET)["maxCapacity"]) == (2, 4)
    starts = [a for name, a in scheduled_actions(run).items() if name.startswith("start-")]
    assert starts and all(a["scalableTargetAction"] == {"minCapacity": 2, "maxCapacity": 4} for a in starts)


def test_equal_floors_make_no_schedule():
    schedule = COMMERCIAL.schedule.model_copy(update={"off_hours_min_count": 3})
    run = run_stack("service-equal", config=CONFIG, program=program(replace(COMMERCIAL, schedule=schedule)))
    assert run.of_type(SCHEDULED) == []
    assert (one(run, SCALING_TARGET)["minCapacity"], one(run, SCALING_TARGET)["maxCapacity"]) == (3, 6)


def test_changes_to_the_scalable_target_are_serialised(commercial: Run):
    """Application Auto Scaling rejects concurrent updates of one target
    (ConcurrentUpdateException), so each waits for the last."""
    months = sorted(n for n in scheduled_actions(commercial) if n.startswith("start-"))
    names = ["scaling-target", "scale-on-cpu", "scale-on-requests", *months, "stop"]
    chain = [commercial.named(f"api-{n}") for n in names]
    assert len(of(commercial, POLICY)) + len(of(commercial, SCHEDULED)) == len(chain) - 1
    for earlier, later in itertools.pairwise(chain):
        assert earlier.urn in later.dependencies


def test_each_service_scales_on_its_own_target(pair: Run):
    resource_ids = {one(pair, SCALING_TARGET, s)["resourceId"] for s in ("api", "web")}
    assert resource_ids == {
        "service/platform-test/platform-test-api",
        "service/platform-test/platform-test-web",
    }
    names = [p["name"] for p in pair.of_type(POLICY)] + [a["name"] for a in pair.of_type(SCHEDULED)]
    # Policy and action names are unique per scalable target; distinct ones keep them readable.
    assert len(set(names)) == len(names)
