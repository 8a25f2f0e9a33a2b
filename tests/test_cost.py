"""The cost model: hours from the schedule, lines from what was registered, budgets per stack."""

from datetime import date

import pytest

from components.settings import parse_settings
from tests.conftest import committed_run
from tools import cost
from tools.harness import run_stack
from tools.preview import settings_of


def settings(topology: str = "staging", **sections: object):
    if topology == "commercial":
        sections.setdefault("compute", {"imageTag": "1.0.0"})
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
    """The staging stack's resources, run around the clock with a larger service, priced by hand.

    Prices (USD, ap-northeast-1, on demand), as read in 2025-2026:
    - Fargate Linux/ARM: $0.04045 per vCPU-hour, $0.00442 per GB-hour
      (https://aws.amazon.com/fargate/pricing/, Asia Pacific (Tokyo)); cross-check: ARM is 20%
      under Linux/x86, $0.05056 and $0.00553 in Tokyo.
    - Application Load Balancer: $0.0243 per ALB-hour, $0.008 per LCU-hour
      (https://aws.amazon.com/elasticloadbalancing/pricing/, Asia Pacific (Tokyo)).
    - Public IPv4 address: $0.005 per address-hour, in use or idle, in every region
      (https://aws.amazon.com/vpc/pricing/, "Public IPv4 address" tab; charged since 2024-02-01).

    The quantities are large enough that an error in a price's last digit moves a line by more
    than a cent.
    """
    # Inputs written here rather than taken from presets or the cost model's traffic table.
    monkeypatch.setitem(cost.TRAFFIC["staging"], "lcu", 10)
    always_on = settings(
        schedule={"enabled": False},
        compute={"cpu": 1024, "memory": 2048, "architecture": "ARM64", "minCount": 4, "maxCount": 4},
        network={"azCount": 2, "nat": "instance"},
    )
    run = committed_run("staging")
    assert len(run.of_type("aws:lb/loadBalancer:LoadBalancer")) == 1
    assert len(run.of_type("aws:ec2/eip:Eip")) == 2  # one per NAT instance
    lines = {line.item: line.monthly_usd for line in cost.estimate(run, always_on).lines}

    # Four tasks of 1 vCPU and 2 GB, 730 h each = 2,920 task-hours:
    # vCPU 2,920 x 1 x 0.04045 = 118.114; memory 2,920 x 2 x 0.00442 = 25.8128; 143.9268
    assert lines["ECS Fargate tasks"] == 143.93
    # One ALB at 10 LCU, 730 h: 730 x (0.0243 + 10 x 0.008) = 730 x 0.1043 = 76.139
    assert lines["Application Load Balancer"] == 76.14
    # Two Elastic IPs (the NAT instances) + the internet-facing ALB's address in each of the two
    # AZs, 730 h each: 4 x 730 x 0.005 = 14.60
    assert lines["Public IPv4 addresses"] == 14.60
    # Together: 143.93 + 76.14 + 14.60 = 234.67
    fixed = ("ECS Fargate tasks", "Application Load Balancer", "Public IPv4 addresses")
    assert sum(lines[item] for item in fixed) == pytest.approx(234.67)


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
    # 3 AZs x 730 h x 0.014 = 30.66.
    assert endpoint.monthly_usd == 30.66
    assert linked.total - peered.total == pytest.approx(endpoint.monthly_usd)
    peering = {line.item: line for line in peered.lines}["Atlas VPC peering"]
    assert peering.monthly_usd == 0 and "cross-AZ data" in peering.basis


def test_stopping_at_night_is_what_keeps_staging_cheap() -> None:
    run = committed_run("staging")
    always_on = settings_of(run).model_copy(
        update={"schedule": settings_of(run).schedule.model_copy(update={"enabled": False})}
    )
    nightly = cost.estimate(run, settings_of(run))
    around_the_clock = cost.estimate(run, always_on)
    assert around_the_clock.total - nightly.total > 10


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
