"""Cut-over: weighted CNAMEs split api.<domain> between CloudFront and the legacy API."""

from __future__ import annotations

import pytest

from components.cutover import CutoverArgs, WeightedCutover
from components.settings import CutoverSettings, SettingsError, parse_settings
from tools.harness import Run, run_stack

CONFIG = {"aws:region": "ap-northeast-1", "platform:topology": "commercial"}
ZONE_ID = "Z0123456789ABCDEFGHIJ"
RECORD_NAME = "api.example.com"
DISTRIBUTION = "d111111abcdef8.cloudfront.net"
LEGACY = "platform-api.onrender.com"
HEALTH_PATH = "/healthz"  # not the default, so a hard-coded path cannot pass
TTL = 120  # not the default 60

RECORD = "aws:route53/record:Record"
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"


def _settings(aws_weight: int, **fields) -> CutoverSettings:
    return CutoverSettings(enabled=True, legacy_api_host=LEGACY, aws_weight=aws_weight, **fields)


def _run(settings: CutoverSettings, **overrides) -> Run:
    fields = {
        "settings": settings,
        "zone_id": ZONE_ID,
        "record_name": RECORD_NAME,
        "aws_target": DISTRIBUTION,
        "legacy_health_check_path": HEALTH_PATH,
        **overrides,
    }
    return run_stack(
        "commercial", config=CONFIG, program=lambda: WeightedCutover("cutover", CutoverArgs(**fields))
    )


def _records(run: Run) -> dict[str, dict]:
    """Weighted records by set identifier."""
    return {r["setIdentifier"]: r.plain_inputs for r in run.of_type(RECORD)}


def _weight(record: dict) -> int:
    [policy] = record["weightedRoutingPolicies"]
    return policy["weight"]


@pytest.fixture(scope="module")
def canary() -> Run:
    return _run(_settings(25, ttl_seconds=TTL))


@pytest.mark.parametrize("aws_weight", [0, 5, 25, 50, 100])
def test_weights_split_one_hundred_and_never_both_zero(aws_weight: int) -> None:
    records = _records(_run(_settings(aws_weight)))
    assert set(records) == {"aws", "legacy"}
    assert _weight(records["aws"]) == aws_weight
    assert _weight(records["legacy"]) == 100 - aws_weight
    # Route 53 answers evenly when every weight is 0, which would send half the users to AWS at 0.
    assert _weight(records["aws"]) + _weight(records["legacy"]) == 100


def test_both_records_are_cnames_of_the_same_name_in_the_zone(canary: Run) -> None:
    records = _records(canary)
    assert len(canary.of_type(RECORD)) == 2
    for record in records.values():
        assert record["type"] == "CNAME"
        assert record["name"] == RECORD_NAME
        assert record["zoneId"] == ZONE_ID
        assert record["ttl"] == TTL
        # Taking over an existing record (e.g. the Edge's alias) silently is what this refuses.
        assert record.get("allowOverwrite") is False


def test_records_point_at_cloudfront_and_the_legacy_host(canary: Run) -> None:
    records = _records(canary)
    assert records["aws"]["records"] == [DISTRIBUTION]
    assert records["legacy"]["records"] == [LEGACY]


def test_legacy_host_is_health_checked_over_https_and_the_check_guards_its_record(canary: Run) -> None:
    check = canary.one(HEALTH_CHECK)
    assert check["type"] == "HTTPS"
    assert check["fqdn"] == LEGACY
    assert check["port"] == 443
    assert check["resourcePath"] == HEALTH_PATH
    # Render serves many names on shared addresses: without SNI the TLS handshake fails.
    assert check["enableSni"] is True
    records = _records(canary)
    assert records["legacy"]["healthCheckId"] == check.id
    # An AWS record that could look unhealthy would push users back to the host being retired.
    assert "healthCheckId" not in records["aws"]


def test_without_a_health_check_path_no_check_is_created() -> None:
    run = _run(_settings(50), legacy_health_check_path=None)
    assert not run.of_type(HEALTH_CHECK)
    assert all("healthCheckId" not in r for r in _records(run).values())


def test_outputs_are_the_name_and_plain_weights() -> None:
    captured: dict[str, WeightedCutover] = {}

    def program() -> None:
        captured["cutover"] = WeightedCutover(
            "cutover",
            CutoverArgs(
                settings=_settings(5), zone_id=ZONE_ID, record_name=RECORD_NAME, aws_target=DISTRIBUTION
            ),
        )

    run_stack("commercial", config=CONFIG, program=program)
    cutover = captured["cutover"]
    assert (cutover.aws_weight, cutover.legacy_weight) == (5, 95)
    assert isinstance(cutover.aws_weight, int) and isinstance(cutover.legacy_weight, int)
    assert cutover.health_check_id is not None  # the default path is checked


@pytest.mark.parametrize(
    ("settings", "overrides", "message"),
    [
        (CutoverSettings(enabled=False, legacy_api_host=LEGACY), {}, "enabled"),
        (CutoverSettings(enabled=True), {}, "legacyApiHost"),
        (_settings(10), {"record_name": LEGACY}, "own name"),
        (_settings(10), {"legacy_health_check_path": "health"}, "start with '/'"),
    ],
)
def test_inconsistent_arguments_are_refused(settings: CutoverSettings, overrides: dict, message: str) -> None:
    fields = {
        "settings": settings,
        "zone_id": ZONE_ID,
        "record_name": RECORD_NAME,
        "aws_target": DISTRIBUTION,
    }
    with pytest.raises(ValueError, match=message):
        WeightedCutover("cutover", CutoverArgs(**{**fields, **overrides}))


# -- settings ----------------------------------------------------------------------------------

BASE = {"topology": "commercial", "compute": {"imageTag": "1.0.0"}}
READY = {
    **BASE,
    "dns": {"domain": "example.com"},
    "edge": {"cloudfront": True},
    "cutover": {"enabled": True, "legacyApiHost": LEGACY, "awsWeight": 5},
}


def _parse(config: dict):
    return parse_settings(config, stack="prod-commercial", region="ap-northeast-1")


def test_settings_accept_a_complete_cut_over() -> None:
    settings = _parse(READY)
    assert settings.cutover.enabled and settings.cutover.aws_weight == 5


@pytest.mark.parametrize(
    ("drop", "missing"),
    [
        ("dns", "dns.domain"),
        ("edge", "edge.cloudfront"),
        ("legacyApiHost", "cutover.legacyApiHost"),
    ],
)
def test_settings_refuse_an_enabled_cut_over_without_its_prerequisites(drop: str, missing: str) -> None:
    config = {k: v for k, v in READY.items() if k != drop}
    if drop == "legacyApiHost":
        config["cutover"] = {"enabled": True, "awsWeight": 5}
    if drop == "edge":
        config["edge"] = {"cloudfront": False, "waf": False}
    with pytest.raises(SettingsError, match=missing.replace(".", r"\.")):
        _parse(config)


@pytest.mark.parametrize("weight", [-1, 101])
def test_settings_refuse_weights_outside_zero_to_one_hundred(weight: int) -> None:
    config = {**READY, "cutover": {**READY["cutover"], "awsWeight": weight}}
    with pytest.raises(SettingsError, match="awsWeight"):
        _parse(config)
