"""Settings: presets, overrides, and a clear error for every class of bad input."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.settings import (
    FARGATE_SIZES,
    LOG_RETENTION_DAYS,
    PRESETS,
    SECTIONS,
    TOPOLOGIES,
    SettingsError,
    parse_settings,
)

REGION = "ap-northeast-1"


# Commercial pins its release: the preset alone is refused (see the test below).
PINNED = {"commercial": {"compute": {"imageTag": "1.0.0"}, "dns": {"domain": "example.com"}}}


def parse(topology: str = "staging", **sections: object):
    config = {**PINNED.get(topology, {}), **sections}
    for section in PINNED.get(topology, {}).keys() & sections.keys():
        config[section] = {**PINNED[topology][section], **sections[section]}  # type: ignore[dict-item]
    return parse_settings({"topology": topology, **config}, stack="test", region=REGION)


def problems_of(topology: str = "staging", **sections: object) -> list[str]:
    with pytest.raises(SettingsError) as error:
        parse(topology, **sections)
    return error.value.problems


@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_every_preset_is_valid_on_its_own(topology: str) -> None:
    settings = parse(topology)
    assert settings.topology == topology


def test_commercial_refuses_a_moving_image_tag_and_a_missing_domain() -> None:
    with pytest.raises(SettingsError) as error:
        parse_settings({"topology": "commercial"}, stack="test", region=REGION)
    problems = error.value.problems
    assert any(p.startswith("platform:compute.imageTag: 'latest' cannot be pushed twice") for p in problems)
    assert any(p.startswith("platform:dns.domain: commercial serves its own domain") for p in problems)


def test_presets_only_name_known_keys() -> None:
    for topology, sections in PRESETS.items():
        for section, values in sections.items():
            aliases = {f.alias for f in SECTIONS[section].model_fields.values()}
            assert set(values) <= aliases, (topology, section, set(values) - aliases)


def test_a_stack_key_overrides_the_preset_and_keeps_the_rest() -> None:
    settings = parse("commercial", compute={"cpu": 1024, "memory": 2048})
    assert (settings.compute.cpu, settings.compute.memory) == (1024, 2048)
    assert settings.compute.max_count == PRESETS["commercial"]["compute"]["maxCount"]


def test_presets_differ_where_the_design_says() -> None:
    staging, commercial = parse("staging"), parse("commercial")
    assert staging.database.instance_class == "db.t4g.micro"
    assert staging.database.engine == "rds-postgres"
    assert commercial.database.engine == "aurora-serverless-v2"
    assert staging.schedule.mode == "stop"
    assert commercial.schedule.mode == "scale-down"
    assert commercial.network.az_count >= 2
    assert commercial.edge.cloudfront and commercial.edge.waf
    assert staging.atlas.tier == "M0"
    assert commercial.atlas.tier.startswith("M") and int(commercial.atlas.tier[1:]) >= 10


def test_missing_topology_names_the_key() -> None:
    with pytest.raises(SettingsError, match="platform:topology: required"):
        parse_settings({}, region=REGION)


def test_bogus_topology_lists_the_allowed_ones() -> None:
    [problem] = problems_of("production")
    assert "platform:topology" in problem and "'production'" in problem and "commercial" in problem


def test_unknown_section_and_unknown_key_are_both_reported() -> None:
    problems = problems_of(computee={"cpu": 256}, compute={"cpus": 256})
    assert any(p.startswith("platform:computee: unknown key") for p in problems)
    assert any(p.startswith("platform:compute.cpus: unknown key") and "'cpu'" in p for p in problems)


def test_a_section_of_another_topology_is_refused() -> None:
    problems = problems_of("pre-commercial", compute={"cpu": 256})
    assert problems == ["platform:compute: not used by the pre-commercial topology; remove it"]


@pytest.mark.parametrize(
    "cidr", ["10.0.0.0/33", "10.0.0.1/16", "banana", "8.8.0.0/16", "10.0.0.0/8", "10.0.0.0/26"]
)
def test_malformed_or_unfit_cidr_names_key_and_value(cidr: str) -> None:
    [problem] = problems_of(network={"cidr": cidr})
    assert problem.startswith("platform:network.cidr: ") and repr(cidr) in problem


@given(
    st.sampled_from(sorted(FARGATE_SIZES)),
    st.integers(min_value=128, max_value=131072),
)
def test_fargate_pairs_are_accepted_exactly_when_aws_allows_them(cpu: int, memory: int) -> None:
    valid = memory in FARGATE_SIZES[cpu]
    try:
        parse(compute={"cpu": cpu, "memory": memory})
    except SettingsError as error:
        assert not valid
        assert "platform:compute" in error.problems[0] and str(memory) in error.problems[0]
    else:
        assert valid


@given(st.integers(min_value=0, max_value=4000))
def test_only_cloudwatch_retention_periods_pass(days: int) -> None:
    try:
        parse(compute={"logRetentionDays": days})
    except SettingsError as error:
        assert days not in LOG_RETENTION_DAYS
        assert error.problems[0].startswith("platform:compute.logRetentionDays")
    else:
        assert days in LOG_RETENTION_DAYS


@given(
    st.floats(min_value=0, max_value=256, allow_nan=False),
    st.floats(min_value=1, max_value=256, allow_nan=False),
)
def test_acu_range_steps_and_order(low: float, high: float) -> None:
    ok = low * 2 == int(low * 2) and high * 2 == int(high * 2) and low <= high and low > 0
    try:
        parse("commercial", database={"minCapacity": low, "maxCapacity": high})
    except SettingsError as error:
        assert not ok, error.problems
        assert all("platform:database" in p for p in error.problems)
    else:
        assert ok


def test_auto_pause_is_refused_for_commercial_but_allowed_for_staging() -> None:
    staging = parse(
        "staging", database={"engine": "aurora-serverless-v2", "engineVersion": "17.7", "minCapacity": 0}
    )
    assert staging.database.min_capacity == 0
    [problem] = problems_of("commercial", database={"minCapacity": 0})
    assert problem.startswith("platform:database.minCapacity: 0 (auto-pause)")


def test_commercial_needs_two_zones() -> None:
    problems = problems_of("commercial", network={"azCount": 1})
    assert problems[0].startswith("platform:network.azCount:")


def test_spot_without_an_on_demand_base_is_refused() -> None:
    problems = problems_of(compute={"spot": True, "architecture": "X86_64", "onDemandBase": 0})
    assert "onDemandBase" in problems[0]


def test_spot_on_arm64_is_refused_because_fargate_spot_is_x86_only() -> None:
    [problem] = problems_of(compute={"spot": True, "architecture": "ARM64"})
    assert problem.startswith("platform:compute: spot needs architecture X86_64")


def test_schedule_start_after_stop_is_refused() -> None:
    [problem] = problems_of(schedule={"start": "21:00", "stop": "09:00"})
    assert problem.startswith("platform:schedule: ") and "21:00" in problem and "09:00" in problem


@pytest.mark.parametrize("value", ["24:00", "9am", "09:60"])
def test_schedule_times_must_be_hh_mm(value: str) -> None:
    [problem] = problems_of(schedule={"start": value})
    assert problem.startswith("platform:schedule.start: ") and repr(value) in problem


def test_unknown_time_zone_is_refused() -> None:
    [problem] = problems_of(schedule={"timezone": "Tokyo"})
    assert problem.startswith("platform:schedule.timezone: ") and "IANA" in problem


def test_unknown_atlas_tier_lists_the_tiers() -> None:
    [problem] = problems_of(atlas={"tier": "M5"})
    assert problem.startswith("platform:atlas.tier: ") and "'M5'" in problem and "'M10'" in problem


@pytest.mark.parametrize("email", ["ops", "ops@", "@example.com", "ops@example", "a b@example.com"])
def test_alarm_email_must_be_an_address(email: str) -> None:
    [problem] = problems_of(monitoring={"alarmEmail": email})
    assert problem.startswith("platform:monitoring.alarmEmail: ") and repr(email) in problem


def test_hobby_plan_is_refused_for_pre_commercial() -> None:
    [problem] = problems_of("pre-commercial", vercel={"plan": "hobby"})
    assert problem.startswith("platform:vercel.plan: 'hobby' forbids commercial use")


def test_a_certificate_outside_us_east_1_is_refused() -> None:
    arn = "arn:aws:acm:ap-northeast-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
    [problem] = problems_of("commercial", edge={"certificateArn": arn}, dns={"domain": "example.com"})
    assert "us-east-1" in problem and problem.startswith("platform:edge")


def test_atlas_world_access_is_refused() -> None:
    [problem] = problems_of(atlas={"accessCidrs": ["0.0.0.0/0"]})
    assert "0.0.0.0/0" in problem


def test_all_problems_are_reported_at_once() -> None:
    problems = problems_of(compute={"cpu": 300}, schedule={"timezone": "Mars/Base"}, atlas={"tier": "M1"})
    assert len(problems) == 3


def test_aws_topologies_require_a_region() -> None:
    with pytest.raises(SettingsError, match="aws:region"):
        parse_settings({"topology": "staging"}, region=None)
    assert parse_settings({"topology": "pre-commercial"}, region=None).region is None
