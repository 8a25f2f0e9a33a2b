"""The cost model: hours from the schedule, lines from what was registered, budgets per stack."""

from datetime import date

import pytest

from components.settings import parse_settings
from tests.conftest import committed_run
from tools import cost
from tools.harness import Run, run_stack
from tools.mocks import Captured
from tools.preview import settings_of


def settings(topology: str = "staging", **sections: object):
    if topology == "commercial":
        sections.setdefault("services", {"api": {"imageTag": "1.0.0"}, "web": {"imageTag": "1.0.0"}})
    if topology != "pre-commercial":
        sections.setdefault("dns", {"domain": "example.com"})
    return parse_settings({"topology": topology, **sections}, stack="test", region="ap-northeast-1")


# A month of hours as AWS's price pages and calculator count one: 365 days x 24 h / 12 = 730.
HOURS_IN_A_MONTH = 730


def test_business_hours_are_open_day_hours_plus_warm_up() -> None:
    # Dec 2026 - Nov 2027: 261 weekdays less 16 weekday public holidays (Japan) = 245 open days,
    # 20.4 a month; 09:00-20:00 with a 15-minute warm-up.
    today = date(2026, 12, 2)
    assert cost.open_days_per_month(settings().schedule, today) == 20.4
    assert cost.service_hours(settings(), today) == pytest.approx(11.25 * 20.4, abs=0.1)
    # The database starts 20 minutes earlier and stops 15 minutes later.
    assert cost.database_hours(settings(), today) == pytest.approx((11.25 + 35 / 60) * 20.4, abs=0.1)
    year_end = settings(schedule={"closedDays": ["12-29", "12-30", "12-31", "01-02", "01-03"]})
    assert cost.open_days_per_month(year_end.schedule, today) < 20.4


def test_a_stack_without_a_stop_schedule_runs_all_month() -> None:
    assert cost.service_hours(settings(schedule={"enabled": False})) == HOURS_IN_A_MONTH
    assert cost.service_hours(settings("commercial")) == HOURS_IN_A_MONTH


def test_worked_example_staging_around_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The staging stack's load balancer and addresses, priced by hand.

    Prices (USD, ap-northeast-1, on demand), as read in 2025-2026:
    - Application Load Balancer: $0.0243 per ALB-hour, $0.008 per LCU-hour
      (https://aws.amazon.com/elasticloadbalancing/pricing/, Asia Pacific (Tokyo)).
    - Public IPv4 address: $0.005 per address-hour, in use or idle, in every region
      (https://aws.amazon.com/vpc/pricing/, "Public IPv4 address" tab; charged since 2024-02-01).

    The quantities are large enough that an error in a price's last digit moves a line by more
    than a cent. Fargate's worked examples are below, on services built by hand.
    """
    # Inputs written here rather than taken from presets or the cost model's traffic table.
    monkeypatch.setitem(cost.TRAFFIC["staging"], "lcu", 10)
    run = committed_run("staging")
    assert len(run.of_type("aws:lb/loadBalancer:LoadBalancer")) == 1
    assert len(run.of_type("aws:ec2/eip:Eip")) == 2  # one per NAT instance
    lines = {line.item: line.monthly_usd for line in cost.estimate(run, settings_of(run)).lines}

    # One ALB at 10 LCU, 730 h: 730 x (0.0243 + 10 x 0.008) = 730 x 0.1043 = 76.139
    assert lines["Application Load Balancer"] == 76.14
    # Two Elastic IPs (the NAT instances) + the internet-facing ALB's address in each of the two
    # AZs, 730 h each; the tasks have no public address: 4 x 730 x 0.005 = 14.60
    assert lines["Public IPv4 addresses"] == 14.60


# Fargate, Linux, ap-northeast-1 (https://aws.amazon.com/fargate/pricing/, Asia Pacific (Tokyo)),
# as read in 2025-2026: ARM $0.04045 per vCPU-hour and $0.00442 per GB-hour; x86 $0.05056 and
# $0.00553 (ARM is 20% under x86). Fargate Spot's price moves with spare capacity; the estimate
# takes the same page's "up to 70% discount" off the on-demand rate.
CLUSTER = "platform-test"


def _resource(type_: str, logical: str, inputs: dict[str, object]) -> Captured:
    return Captured(
        urn=f"urn:pulumi:test::platform::{type_}::{logical}", type=type_, name=logical, inputs=inputs
    )


def _service(
    key: str,
    cpu: int,
    memory: int,
    architecture: str | None,
    *,
    desired: int = 1,
    strategy: list[dict] | None = None,
    public_ip: bool = False,
) -> list[Captured]:
    """A task definition and its service in CLUSTER, shaped as the AWS provider takes them."""
    family = f"platform-test-{key}"
    task: dict[str, object] = {"family": family, "cpu": str(cpu), "memory": str(memory)}
    if architecture:
        task["runtimePlatform"] = {"cpuArchitecture": architecture, "operatingSystemFamily": "LINUX"}
    service: dict[str, object] = {
        "name": family,
        "cluster": f"arn:aws:ecs:ap-northeast-1:123456789012:cluster/{CLUSTER}",
        "taskDefinition": f"arn:aws:ecs:ap-northeast-1:123456789012:task-definition/{family}:7",
        "desiredCount": float(desired),
        "networkConfiguration": {"assignPublicIp": public_ip, "subnets": ["subnet-a"]},
    }
    if strategy is not None:
        service["capacityProviderStrategies"] = strategy
    return [
        _resource("aws:ecs/taskDefinition:TaskDefinition", f"{key}-task", task),
        _resource("aws:ecs/service:Service", f"{key}-service", service),
    ]


def _scaling(key: str, floor: int, *actions: tuple[str, str, int]) -> list[Captured]:
    """A scalable target and its scheduled actions (suffix, cron, min capacity)."""
    resource_id = f"service/{CLUSTER}/platform-test-{key}"
    scope = {
        "resourceId": resource_id,
        "serviceNamespace": "ecs",
        "scalableDimension": "ecs:service:DesiredCount",
    }
    return [
        _resource(
            "aws:appautoscaling/target:Target", f"{key}-target", {"minCapacity": float(floor), **scope}
        ),
        *(
            _resource(
                "aws:appautoscaling/scheduledAction:ScheduledAction",
                f"{key}-{suffix}",
                {
                    "name": f"platform-test-{key}-{suffix}",
                    "schedule": cron,
                    "timezone": "Asia/Tokyo",
                    "scalableTargetAction": {"minCapacity": float(minimum), "maxCapacity": 6.0},
                    **scope,
                },
            )
            for suffix, cron, minimum in actions
        ),
    ]


def _cluster(insights: str = "enabled") -> list[Captured]:
    return [
        _resource(
            "aws:ecs/cluster:Cluster",
            "cluster",
            {"name": CLUSTER, "settings": [{"name": "containerInsights", "value": insights}]},
        ),
        _resource(
            "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders",
            "capacity-providers",
            {
                "clusterName": CLUSTER,
                "capacityProviders": ["FARGATE", "FARGATE_SPOT"],
                "defaultCapacityProviderStrategies": [{"capacityProvider": "FARGATE", "weight": 1.0}],
            },
        ),
    ]


# api: 0.5 vCPU / 1 GB ARM64, 2 tasks by day and 1 at night; its two monthly starts at 08:45 name
# 5 and 3 open days (4.0 a month), the daily stop is at 20:00.
API = [
    *_service(
        "api", 512, 1024, "ARM64", desired=2, strategy=[{"capacityProvider": "FARGATE", "weight": 1.0}]
    ),
    *_scaling(
        "api",
        1,
        ("start-2026-12", "cron(45 8 1,2,3,4,7 12 ? 2026)", 2),
        ("start-2027-01", "cron(45 8 4,5,6 1 ? 2027)", 2),
        ("stop", "cron(0 20 * * ? *)", 1),
    ),
]
# web: 1 vCPU / 3 GB X86_64, a floor of 2 all month; one task on regular Fargate (the base), the
# rest split 1:3 between Fargate and Fargate Spot.
WEB = [
    *_service(
        "web",
        1024,
        3072,
        "X86_64",
        desired=2,
        strategy=[
            {"capacityProvider": "FARGATE", "base": 1.0, "weight": 1.0},
            {"capacityProvider": "FARGATE_SPOT", "weight": 3.0},
        ],
    ),
    *_scaling("web", 2),
]
# worker: 0.25 vCPU / 0.5 GB, no runtimePlatform (ECS's default, X86_64), no scaling (its desired
# count of 1 holds), the cluster's default strategy, and a public IP.
WORKER = _service("worker", 256, 512, None, desired=1, public_ip=True)


def _estimate(*resources: Captured) -> dict[str, cost.CostLine]:
    run = Run(stack="test", config={}, resources=list(resources), outputs={})
    return {line.item: line for line in cost.estimate(run, settings()).lines}


def test_each_service_is_priced_from_its_task_definition_strategy_and_floors() -> None:
    lines = _estimate(*_cluster(), *API, *WEB)
    # api: day 11.25 h (08:45-20:00) x 4.0 days = 45 h at 2 tasks, night 730 - 45 = 685 h at 1:
    # 90 + 685 = 775 task-hours x (0.5 x 0.04045 + 1 x 0.00442 = 0.024645) = 19.099875
    assert lines["Fargate api"].monthly_usd == 19.10
    assert lines["Fargate api"].basis.startswith("775 task-hours x 0.5 vCPU / 1 GB ARM64")
    # web: 2 tasks x 730 h = 1,460 task-hours at 1 x 0.05056 + 3 x 0.00553 = 0.06715 an hour.
    # The base task is on Fargate; of the second, 1/4 on Fargate and 3/4 on Spot: 0.75 x 730
    # = 547.5 Spot task-hours at 30% of the rate, 912.5 at the full rate:
    # 912.5 x 0.06715 = 61.274375 + 547.5 x 0.020145 = 11.0293875 -> 72.3037625
    assert lines["Fargate web"].monthly_usd == 72.30
    assert "548 of them on Spot" in lines["Fargate web"].basis
    # No task has a public address and the run has no ALB or Elastic IP: no IPv4 line.
    assert "Public IPv4 addresses" not in lines


def test_a_third_service_is_priced_without_a_code_change() -> None:
    two = _estimate(*_cluster(), *API, *WEB)
    three = _estimate(*_cluster(), *API, *WEB, *WORKER)
    # worker: 730 h x 1 task x (0.25 x 0.05056 + 0.5 x 0.00553 = 0.015405) = 11.24565
    assert three["Fargate worker"].monthly_usd == 11.25
    assert "X86_64" in three["Fargate worker"].basis
    assert {item: three[item] for item in two if item.startswith("Fargate ")} == {
        item: line for item, line in two.items() if item.startswith("Fargate ")
    }
    # Its public address, every hour it runs: 730 x 0.005 = 3.65
    assert three["Public IPv4 addresses"].monthly_usd == 3.65
    # Container Insights counts the services of the cluster that has it on.
    assert three["Container Insights"].monthly_usd == pytest.approx(
        1.5 * two["Container Insights"].monthly_usd
    )
    assert "api, web, worker" in three["Container Insights"].basis
    assert "Container Insights" not in _estimate(*_cluster("disabled"), *API, *WEB, *WORKER)


def test_spot_prices_only_the_tasks_above_the_base() -> None:
    base_only = [
        *_service(
            "web",
            1024,
            3072,
            "X86_64",
            strategy=[
                {"capacityProvider": "FARGATE", "base": 2.0, "weight": 1.0},
                {"capacityProvider": "FARGATE_SPOT", "weight": 3.0},
            ],
        ),
        *_scaling("web", 2),
    ]
    # Both tasks fit in the base: 1,460 task-hours x 0.06715 = 98.039, nothing on Spot.
    line = _estimate(*_cluster(), *base_only)["Fargate web"]
    assert line.monthly_usd == 98.04 and "Spot" not in line.basis


@pytest.mark.parametrize(("stack", "low", "high"), [("staging", 40, 70), ("prod-precommercial", 0, 68)])
def test_committed_stacks_fit_the_seed_budget(stack: str, low: float, high: float) -> None:
    run = committed_run(stack)
    estimate = cost.estimate(run, settings_of(run))
    assert low <= estimate.total <= high, [(line.item, line.monthly_usd) for line in estimate.lines]
    assert estimate.within_budget


def test_commercial_estimate_is_within_the_seed_range() -> None:
    # The seed says $320-373. HA at Tokyo list prices (two Aurora floors, Atlas M10, NAT per AZ)
    # fits only with Atlas over VPC peering; a change that adds a NAT gateway per AZ fails here.
    run = committed_run("prod-commercial")
    estimate = cost.estimate(run, settings_of(run))
    assert 320 <= estimate.total <= 373, [(line.item, line.monthly_usd) for line in estimate.lines]
    assert estimate.within_budget


def test_atlas_peering_saves_exactly_the_private_link_endpoint_hours() -> None:
    peered_run = committed_run("prod-commercial")
    peered = cost.estimate(peered_run, settings_of(peered_run))
    linked_run = run_stack("prod-commercial", {"platform:atlas": {"connectivity": "private-link"}})
    linked = cost.estimate(linked_run, settings_of(linked_run))
    endpoint = {line.item: line for line in linked.lines}["Atlas PrivateLink endpoint"]
    # One interface endpoint address per AZ, every hour of the month, at $0.014 per VPC endpoint
    # per AZ-hour in Tokyo (https://aws.amazon.com/privatelink/pricing/, Interface endpoint):
    # 2 AZs x 730 h x 0.014 = 20.44.
    assert endpoint.monthly_usd == 20.44
    assert linked.total - peered.total == pytest.approx(endpoint.monthly_usd)
    peering = {line.item: line for line in peered.lines}["Atlas VPC peering"]
    assert peering.monthly_usd == 0 and "cross-AZ data" in peering.basis


def test_stopping_at_night_is_what_keeps_staging_cheap() -> None:
    nightly_run = committed_run("staging")
    always_on_run = run_stack("staging", {"platform:schedule": {"enabled": False}})
    nightly = cost.estimate(nightly_run, settings_of(nightly_run))
    around_the_clock = cost.estimate(always_on_run, settings_of(always_on_run))
    assert around_the_clock.total - nightly.total > 10
    # The service's floor of 1 holds all month once no scheduled action lowers it.
    fargate = {line.item: line for line in around_the_clock.lines}["Fargate api"]
    assert fargate.basis.startswith("730 task-hours")


def test_render_autoscaling_costs_its_workspace_plan() -> None:
    def items(**render: object) -> set[str]:
        stack = settings("pre-commercial", render=render, vercel={"teamId": "team_abc123"})
        return {line.item for line in cost.estimate(committed_run("prod-precommercial"), stack).lines}

    assert "Render Professional workspace (vendor)" in items(minInstances=1, maxInstances=3)
    assert "Render Professional workspace (vendor)" not in items(minInstances=1, maxInstances=1)


def test_nat_comparison_ranks_the_strategies() -> None:
    lines = cost.nat_comparison(settings("commercial"))
    prices = [float(line.split("$")[1].split(";")[0].split()[0]) for line in lines[:3]]
    per_az_gateways, single_gateway, per_az_instances = prices
    assert per_az_instances < single_gateway < per_az_gateways
    assert "repay NAT gateway data charges only above" in lines[3]


def test_every_line_is_positive_or_free_and_explained() -> None:
    for stack in ("staging", "prod-commercial", "prod-precommercial"):
        run = committed_run(stack)
        for line in cost.estimate(run, settings_of(run)).lines:
            assert line.monthly_usd >= 0 and line.basis, line
