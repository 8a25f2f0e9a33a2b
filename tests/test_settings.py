"""Settings: presets, overrides, and a clear error for every class of bad input."""

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from components.settings import (
    PRESETS,
    TOPOLOGIES,
    SettingsError,
    deep_merge,
    entry_model,
    parse_settings,
)
from components.settings.loader import load_presets

REGION = "ap-northeast-1"

# The task sizes Fargate accepts, cpu units -> memory (MiB), written out from AWS's table, not the
# code's: "Task CPU and memory" in the ECS developer guide
# (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size,
# the same table in https://docs.aws.amazon.com/AmazonECS/latest/userguide/task-cpu-memory-error.html
# and in RegisterTaskDefinition's ``memory``): 256 -> 512, 1024, 2048; 512 -> 1-4 GB; 1024 -> 2-8 GB;
# 2048 -> 4-16 GB in 1 GB steps; 4096 -> 8-30 GB in 1 GB steps; 8192 -> 16-60 GB in 4 GB steps;
# 16384 -> 32-120 GB in 8 GB steps (8 and 16 vCPU need Linux platform 1.4.0, which is the default).
AWS_FARGATE_SIZES: dict[int, set[int]] = {
    256: {512, 1024, 2048},
    512: {1024, 2048, 3072, 4096},
    1024: {2048, 3072, 4096, 5120, 6144, 7168, 8192},
    2048: {gb * 1024 for gb in range(4, 16 + 1)},
    4096: {gb * 1024 for gb in range(8, 30 + 1)},
    8192: {gb * 1024 for gb in range(16, 60 + 1, 4)},
    16384: {gb * 1024 for gb in range(32, 120 + 1, 8)},
}

# The retention periods CloudWatch Logs accepts, from PutRetentionPolicy's ``retentionInDays``
# ("Possible values are: 1, 3, 5, ... 3288, and 3653",
# https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html).
CLOUDWATCH_RETENTION_DAYS = {
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
}  # fmt: skip


# Commercial pins its releases: the preset alone is refused (see the test below). The AWS stacks
# serve two hosts, which needs a domain.
PINNED = {
    "staging": {"dns": {"domain": "example.com"}},
    "commercial": {
        "services": {"api": {"imageTag": "1.0.0"}, "web": {"imageTag": "1.0.0"}},
        "dns": {"domain": "example.com"},
    },
    # Pre-commercial names its Vercel team (no preset can know it).
    "pre-commercial": {"vercel": {"teamId": "team_abc123"}},
}


def parse(topology: str = "staging", **sections: object):
    config = deep_merge(PINNED.get(topology, {}), sections)
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
    assert any(
        p.startswith("platform:services.api.imageTag: 'latest' cannot be pushed twice") for p in problems
    )
    assert any(p.startswith("platform:dns.domain: commercial serves its own domain") for p in problems)


def test_a_preset_file_reads_like_a_stack_files_config_block() -> None:
    # presets/<topology>.yaml holds what a stack file's `config:` holds, `platform:<section>`
    # objects of camelCase keys, and is no Pulumi.<stack>.yaml the engine would take for a stack.
    root = Path(__file__).resolve().parent.parent
    files = sorted(path.name for path in (root / "presets").iterdir())
    assert files == ["commercial.yaml", "pre-commercial.yaml", "staging.yaml"]
    for topology in TOPOLOGIES:
        document = yaml.safe_load((root / "presets" / f"{topology}.yaml").read_text())
        assert list(document) == ["config"]
        assert all(key.startswith("platform:") for key in document["config"])
    # Laid over by a stack file exactly as the engine's config would be: one key changes, the
    # preset's others stay.
    staging = parse("staging", services={"api": {"cpu": 512, "memory": 1024}})
    api = staging.services["api"]
    assert (api.cpu, api.max_count, api.log_retention_days) == (
        512,
        2,
        14,
    )


def test_presets_are_found_from_any_working_directory(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_presets() == PRESETS


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("platform:compute:\n  cpu: 256\n", "one `config:` block"),
        ("config:\n  platform:computee:\n    cpu: 256\n", "platform:computee is not a section"),
        ("config:\n  aws:region: ap-northeast-1\n", "aws:region is not a section"),
        ("config:\n  platform:compute: 256\n", "must be an object of keys"),
    ],
)
def test_a_malformed_preset_file_is_refused_naming_it(tmp_path, text: str, complaint: str) -> None:
    for topology in TOPOLOGIES:
        (tmp_path / f"{topology}.yaml").write_text("config: {}\n")
    (tmp_path / "commercial.yaml").write_text(text)
    with pytest.raises(ValueError, match=r"commercial\.yaml: .*" + re.escape(complaint)):
        load_presets(tmp_path)


def test_presets_only_name_known_keys() -> None:
    for topology, sections in PRESETS.items():
        for section, values in sections.items():
            # A map section (services) names its entries; each entry has the entry model's keys.
            entries = values.values() if section == "services" else [values]
            aliases = {f.alias for f in entry_model(section).model_fields.values()}
            for entry in entries:
                assert set(entry) <= aliases, (topology, section, set(entry) - aliases)


def test_a_stack_key_overrides_the_preset_and_keeps_the_rest() -> None:
    settings = parse("commercial", services={"api": {"cpu": 1024, "memory": 2048}})
    api = settings.services["api"]
    assert (api.cpu, api.memory) == (1024, 2048)
    assert api.max_count == PRESETS["commercial"]["services"]["api"]["maxCount"]
    # The other entry keeps its preset whole.
    assert settings.services["web"].cpu == PRESETS["commercial"]["services"]["web"]["cpu"]


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
    problems = problems_of(computee={"cpu": 256}, services={"api": {"cpus": 256}})
    assert any(p.startswith("platform:computee: unknown key") for p in problems)
    assert any(p.startswith("platform:services.api.cpus: unknown key") and "'cpu'" in p for p in problems)


def test_a_section_of_another_topology_is_refused() -> None:
    problems = problems_of("pre-commercial", services={"api": {"cpu": 256}})
    assert problems == ["platform:services: not used by the pre-commercial topology; remove it"]


@pytest.mark.parametrize(
    "cidr",
    ["10.0.0.0/33", "10.0.0.1/16", "banana", "8.8.0.0/16", "198.18.0.0/16", "10.0.0.0/8", "10.0.0.0/26"],
)
def test_malformed_or_unfit_cidr_names_key_and_value(cidr: str) -> None:
    [problem] = problems_of(network={"cidr": cidr})
    assert problem.startswith("platform:network.cidr: ") and repr(cidr) in problem


@given(
    # Every listed cpu and a few that are not Fargate sizes (128 is below the smallest).
    st.sampled_from([128, *sorted(AWS_FARGATE_SIZES), 3072, 32768]),
    st.one_of(
        st.integers(min_value=128, max_value=131072),
        st.sampled_from(sorted(set().union(*AWS_FARGATE_SIZES.values()))),
    ),
)
def test_fargate_pairs_are_accepted_exactly_when_aws_allows_them(cpu: int, memory: int) -> None:
    valid = memory in AWS_FARGATE_SIZES.get(cpu, set())
    try:
        parse(services={"api": {"cpu": cpu, "memory": memory}})
    except SettingsError as error:
        assert not valid
        # A bad cpu is named itself; a bad pairing names the memory.
        named = memory if cpu in AWS_FARGATE_SIZES else cpu
        assert "platform:services.api" in error.problems[0] and f"{named} " in error.problems[0]
    else:
        assert valid


@pytest.mark.parametrize("days", sorted(CLOUDWATCH_RETENTION_DAYS))
def test_every_cloudwatch_retention_period_passes(days: int) -> None:
    assert parse(services={"api": {"logRetentionDays": days}}).services["api"].log_retention_days == days


@given(st.integers(min_value=0, max_value=4000).filter(lambda d: d not in CLOUDWATCH_RETENTION_DAYS))
def test_other_retention_periods_are_refused(days: int) -> None:
    [problem] = problems_of(services={"api": {"logRetentionDays": days}})
    assert problem.startswith("platform:services.api.logRetentionDays") and str(days) in problem


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
    problems = problems_of(services={"api": {"spot": True, "architecture": "X86_64", "onDemandBase": 0}})
    assert "onDemandBase" in problems[0]


def test_spot_takes_arm64_tasks_as_fargate_spot_does_on_platform_1_4_0() -> None:
    # "FARGATE_SPOT supports Linux tasks with the ARM64 architecture on platform version 1.4.0 or
    # later" (ECS API reference, CapacityProviderStrategyItem); LATEST is 1.4.0 for Linux, the
    # version a service without platformVersion runs.
    web = parse(services={"web": {"spot": True, "architecture": "ARM64"}}).services["web"]
    assert web.spot and web.architecture == "ARM64"


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


# -- Atlas connectivity ---------------------------------------------------------------------------


def test_commercial_reaches_atlas_over_vpc_peering_by_default() -> None:
    atlas = parse("commercial").atlas
    assert (atlas.connectivity, atlas.peering_cidr) == ("peering", "192.168.248.0/21")
    assert parse("staging").atlas.connectivity == "public"


@pytest.mark.parametrize("tier", ["M0", "FLEX"])
@pytest.mark.parametrize("connectivity", ["peering", "private-link"])
def test_private_atlas_connectivity_needs_a_dedicated_tier(tier: str, connectivity: str) -> None:
    [problem] = problems_of(atlas={"tier": tier, "connectivity": connectivity})
    assert problem.startswith(f"platform:atlas: connectivity {connectivity!r} needs a dedicated tier")
    assert f"not {tier}" in problem


def test_unknown_atlas_connectivity_lists_the_choices() -> None:
    [problem] = problems_of("commercial", atlas={"connectivity": "vpn"})
    assert (
        problem.startswith("platform:atlas.connectivity: ") and "'peering'" in problem and "'vpn'" in problem
    )


def test_the_retired_private_link_switch_is_an_unknown_key_naming_its_successor() -> None:
    [problem] = problems_of("commercial", atlas={"privateLink": True})
    assert problem.startswith("platform:atlas.privateLink: unknown key") and "'connectivity'" in problem


@pytest.mark.parametrize(
    ("cidr", "why"),
    [
        ("192.168.240.0/20", "/21 to /24"),
        ("10.8.0.0/25", "/21 to /24"),
        ("100.64.0.0/21", "RFC 1918"),
        ("198.18.0.0/21", "RFC 1918"),  # private to Python, yet not a range Atlas accepts
        ("192.168.248.1/21", "IPv4 CIDR block"),
    ],
)
def test_atlas_peering_block_follows_atlas_rules(cidr: str, why: str) -> None:
    [problem] = problems_of("commercial", atlas={"peeringCidr": cidr})
    assert problem.startswith("platform:atlas.peeringCidr: ") and why in problem and repr(cidr) in problem


@pytest.mark.parametrize("cidr", ["10.8.0.0/21", "172.31.252.0/22", "192.168.0.0/24"])
def test_atlas_peering_block_accepts_rfc_1918_blocks_from_21_to_24(cidr: str) -> None:
    assert parse("commercial", atlas={"peeringCidr": cidr}).atlas.peering_cidr == cidr


def test_atlas_peering_block_must_not_overlap_the_vpc() -> None:
    [problem] = problems_of("commercial", network={"cidr": "192.168.0.0/16"})
    assert problem.startswith("platform:atlas.peeringCidr: 192.168.248.0/21 overlaps")
    assert "platform:network.cidr 192.168.0.0/16" in problem


def test_the_peering_block_is_free_when_atlas_is_not_peered() -> None:
    # Only a peered VPC has to keep out of Atlas' block.
    settings = parse("commercial", network={"cidr": "192.168.0.0/16"}, atlas={"connectivity": "private-link"})
    assert settings.atlas.peering_cidr == "192.168.248.0/21"


def test_a_peered_atlas_needs_the_tasks_in_private_subnets() -> None:
    # Only the private route tables learn the way to Atlas' block; nat 'none' runs tasks outside them.
    [problem] = problems_of(network={"nat": "none"}, atlas={"tier": "M10", "connectivity": "peering"})
    assert problem.startswith("platform:atlas.connectivity: 'peering' routes Atlas' block from the private")
    assert "platform:network.nat 'none'" in problem
    assert parse(network={"nat": "none"}, atlas={"tier": "M10", "connectivity": "private-link"})


def test_all_problems_are_reported_at_once() -> None:
    problems = problems_of(
        services={"api": {"cpu": 300}}, schedule={"timezone": "Mars/Base"}, atlas={"tier": "M1"}
    )
    assert len(problems) == 3


def test_aws_topologies_require_a_region() -> None:
    with pytest.raises(SettingsError, match="aws:region"):
        parse_settings({"topology": "staging"}, region=None)
    # Pre-commercial needs one only for the backup bucket.
    pre_commercial = {"topology": "pre-commercial", "vercel": {"teamId": "team_abc123"}}
    with pytest.raises(SettingsError, match=r"aws:region: required when platform:backup.enabled is true"):
        parse_settings(pre_commercial, region=None)
    without_backups = {**pre_commercial, "backup": {"enabled": False}}
    assert parse_settings(without_backups, region=None).region is None


# -- cut-over phases and the pre-commercial data ---------------------------------------------------

PASSWORD = "s3cr3t-Pa55word"
LEGACY_DATABASE_URL = f"postgresql://postgres.abcdefghijklmnopqrst:{PASSWORD}@aws-0-ap-southeast-1.pooler.supabase.com:5432/postgres?sslmode=require"
LEGACY_MONGODB_URI = f"mongodb+srv://platform-app:{PASSWORD}@platform.abcde.mongodb.net/app?retryWrites=true"
WEB_LEGACY = {"legacyHost": "cname.vercel-dns-0.com", "healthCheckHost": "platform-web.vercel.app"}
HOSTS = {"api": {"legacyHost": "platform-api.onrender.com", "awsWeight": 5}, "web": WEB_LEGACY}
LEGACY = {
    "phase": "canary",
    "hosts": HOSTS,
    "legacyDatabaseUrl": LEGACY_DATABASE_URL,
    "legacyMongodbUri": LEGACY_MONGODB_URI,
}


def test_off_is_the_default_and_uses_this_stacks_data() -> None:
    cutover = parse("commercial").cutover
    assert cutover.phase == "off" and not cutover.legacy_data
    assert cutover.hosts == {} and cutover.legacy_database_url is None
    assert cutover.legacy_database_port == 5432  # Supabase's session pooler, as Render uses it


def test_legacy_data_is_held_as_secrets_that_never_print() -> None:
    settings = parse("commercial", cutover=LEGACY)
    cutover = settings.cutover
    assert cutover.legacy_data and cutover.hosts["api"].aws_weight == 5
    assert cutover.legacy_database_url.get_secret_value() == LEGACY_DATABASE_URL
    assert cutover.legacy_mongodb_uri.get_secret_value() == LEGACY_MONGODB_URI
    assert PASSWORD not in repr(settings) and PASSWORD not in str(cutover)


def test_the_canary_needs_its_host_and_both_connection_strings() -> None:
    # Without them the canary's AWS share (or a failing legacy health check, even at weight 0)
    # would send users to this stack's empty databases while the rest write to the legacy ones.
    problems = problems_of("commercial", cutover={"phase": "canary"})
    assert len(problems) == 4
    assert problems[0].startswith("platform:cutover.hosts.api: required in phase 'canary'")
    assert problems[1].startswith("platform:cutover.hosts.web: required in phase 'canary'")
    assert any(
        p.startswith("platform:cutover.legacyDatabaseUrl: required in phase 'canary'") for p in problems
    )
    assert any(
        p.startswith("platform:cutover.legacyMongodbUri: required in phase 'canary'") for p in problems
    )


@pytest.mark.parametrize("phase", ["off", "data-switched", "done"])
@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("hosts", HOSTS),
        ("legacyDatabaseUrl", LEGACY_DATABASE_URL),
        ("legacyMongodbUri", LEGACY_MONGODB_URI),
        ("legacyDatabasePort", 6543),
    ],
)
def test_outside_the_canary_nothing_of_the_legacy_side_is_accepted(
    phase: str, key: str, value: object
) -> None:
    [problem] = problems_of("commercial", cutover={"phase": phase, key: value})
    assert problem.startswith(f"platform:cutover.{key}: only phase 'canary' uses it (phase is {phase!r})")
    assert PASSWORD not in problem


def test_the_old_keys_that_combined_into_a_split_are_gone() -> None:
    # enabled + dataSource 'aws' + awsWeight < 100 passed before and sent users to an empty Aurora.
    problems = problems_of(
        "commercial", cutover={"enabled": True, "dataSource": "aws", "legacyApiHost": "x.onrender.com"}
    )
    assert {p.split(":", 2)[1] for p in problems} == {
        "cutover.enabled",
        "cutover.dataSource",
        "cutover.legacyApiHost",
    }
    assert all("unknown key" in p for p in problems)


def test_the_api_and_the_web_move_and_no_other_name() -> None:
    settings = parse("commercial", cutover=LEGACY)
    assert settings.cutover.hosts["web"].legacy_host == "cname.vercel-dns-0.com"
    hosts = {**HOSTS, "admin": {"legacyHost": "platform-admin.onrender.com"}}
    [problem] = problems_of("commercial", cutover={**LEGACY, "hosts": hosts})
    assert problem == "platform:cutover.hosts.admin: not a name the cut-over moves; allowed: ['api', 'web']"


def test_each_host_has_its_own_weight() -> None:
    hosts = {"api": {**HOSTS["api"], "awsWeight": 10}, "web": {**WEB_LEGACY, "awsWeight": 50}}
    cutover = parse("commercial", cutover={**LEGACY, "hosts": hosts}).cutover
    assert (cutover.hosts["api"].aws_weight, cutover.hosts["web"].aws_weight) == (10, 50)
    # Unset, a host stays all on its legacy side, whatever the other's weight.
    hosts = {"api": {**HOSTS["api"], "awsWeight": 100}, "web": WEB_LEGACY}
    assert parse("commercial", cutover={**LEGACY, "hosts": hosts}).cutover.hosts["web"].aws_weight == 0


# One name, one place: a legacy side (or its probe) that is a name this stack's records serve
# would answer the name from CloudFront twice, or from another name's records.
@pytest.mark.parametrize(
    ("host", "entry", "expected"),
    [
        (
            "api",
            {"legacyHost": "api.example.com"},
            "platform:cutover.hosts.api.legacyHost: api.example.com is the cut-over's own name, which "
            "this stack's records serve; use the pre-commercial service's host (Render: "
            "platform-api.onrender.com; Vercel: the CNAME target it shows for the name)",
        ),
        (
            "web",
            {"legacyHost": "www.example.com", "healthCheckHost": "platform-web.vercel.app"},
            "platform:cutover.hosts.web.legacyHost: www.example.com is the cut-over's own name, which",
        ),
        (
            "web",
            {"legacyHost": "api.example.com", "healthCheckHost": "platform-web.vercel.app"},
            "platform:cutover.hosts.web.legacyHost: api.example.com is the name of cut-over host 'api', "
            "which this stack's records serve",
        ),
        (
            "web",
            {"legacyHost": "platform-api.onrender.com"},
            "platform:cutover.hosts.web.legacyHost: platform-api.onrender.com is also "
            "hosts.api.legacyHost: each name's legacy share would reach the other's service",
        ),
        (
            "web",
            {"legacyHost": "cname.vercel-dns-0.com"},
            "platform:cutover.hosts.web.healthCheckHost: required with legacyHost cname.vercel-dns-0.com: "
            "every Vercel project shares that target",
        ),
        (
            "web",
            {"legacyHost": "d1d4fc829fe7bc7c.vercel-dns-017.com"},
            "platform:cutover.hosts.web.healthCheckHost: required with legacyHost "
            "d1d4fc829fe7bc7c.vercel-dns-017.com",
        ),
        (
            "web",
            {"legacyHost": "cname.vercel-dns.com", "healthCheckHost": "www.example.com"},
            "platform:cutover.hosts.web.healthCheckHost: www.example.com is answered by this stack's "
            "weighted records, so the check would probe CloudFront as often as the legacy side",
        ),
    ],
)
def test_no_name_is_served_from_two_places(host: str, entry: dict, expected: str) -> None:
    [problem] = problems_of("commercial", cutover={**LEGACY, "hosts": {**HOSTS, host: entry}})
    assert problem.startswith(expected)


def test_the_served_names_follow_the_subdomain_settings() -> None:
    # The web served at site.example.com: www.example.com is then a name like any other.
    web = {"services": {"web": {"subdomain": "site"}}}
    hosts = {**HOSTS, "web": {"legacyHost": "www.example.com", "healthCheckHost": "platform-web.vercel.app"}}
    assert parse("commercial", **web, cutover={**LEGACY, "hosts": hosts}).cutover.hosts["web"]
    [problem] = problems_of(
        "commercial",
        **web,
        cutover={
            **LEGACY,
            "hosts": {
                **hosts,
                "web": {"legacyHost": "site.example.com", "healthCheckHost": "platform-web.vercel.app"},
            },
        },
    )
    assert problem.startswith("platform:cutover.hosts.web.legacyHost: site.example.com is the cut-over's own")


def test_a_render_host_is_probed_as_it_is() -> None:
    # Render routes by its own host name, so the API needs no separate probe name.
    assert parse("commercial", cutover=LEGACY).cutover.hosts["api"].health_check_host is None


@pytest.mark.parametrize("weight", [-1, 101])
def test_weights_stay_within_zero_to_one_hundred(weight: int) -> None:
    [problem] = problems_of(
        "commercial", cutover={**LEGACY, "hosts": {"api": {**HOSTS["api"], "awsWeight": weight}}}
    )
    assert problem.startswith("platform:cutover.hosts.api.awsWeight: ")


@pytest.mark.parametrize("phase", ["canary", "data-switched", "done"])
def test_every_phase_but_off_needs_cloudfront_and_a_domain(phase: str) -> None:
    cutover = LEGACY if phase == "canary" else {"phase": phase}
    # Staging without a domain serves one service only.
    problems = problems_of(
        "staging", cutover=cutover, dns={"domain": None}, services={"web": {"enabled": False}}
    )
    assert (
        f"platform:cutover.phase: {phase!r} needs platform:dns.domain, platform:edge.cloudfront"
        in problems[0]
    )


def test_done_serves_alias_records_without_a_ttl() -> None:
    [problem] = problems_of("commercial", cutover={"phase": "done", "ttlSeconds": 120})
    assert problem.startswith("platform:cutover.ttlSeconds: phase 'done' serves alias records")
    assert parse("commercial", cutover={"phase": "off", "ttlSeconds": 120}).cutover.ttl_seconds == 120


def test_without_atlas_the_legacy_mongodb_uri_is_neither_needed_nor_allowed() -> None:
    legacy = {k: v for k, v in LEGACY.items() if k != "legacyMongodbUri"}
    no_atlas = {"atlas": {"enabled": False}, "services": {"api": {"secrets": ["DATABASE_URL"]}}}
    assert parse("commercial", cutover=legacy, **no_atlas).cutover.legacy_data
    [problem] = problems_of("commercial", cutover=LEGACY, **no_atlas)
    assert problem.startswith("platform:cutover.legacyMongodbUri: platform:atlas.enabled is false")


@pytest.mark.parametrize(
    ("key", "value", "complaint"),
    [
        ("legacyDatabaseUrl", f"mysql://u:{PASSWORD}@db.example.com/app", "must be a libpq URL"),
        ("legacyDatabaseUrl", f"postgresql://u:{PASSWORD}@db.example.com:5432/app", "must require TLS"),
        ("legacyDatabaseUrl", f"postgresql://u:{PASSWORD}@db.example.com:x/app", "must be a libpq URL"),
        ("legacyMongodbUri", f"mongodb://u:{PASSWORD}@cluster.mongodb.net/app", "Atlas SRV"),
        ("legacyMongodbUri", f"mongodb+srv://u:{PASSWORD}@cluster.mongodb.net/app?tls=false", "TLS off"),
        ("legacyMongodbUri", {"secure": PASSWORD}, "valid string"),
    ],
)
def test_a_malformed_connection_string_is_named_but_never_quoted(
    key: str, value: object, complaint: str
) -> None:
    [problem] = problems_of("commercial", cutover={**LEGACY, key: value})
    assert problem.startswith(f"platform:cutover.{key}: ") and complaint in problem
    assert PASSWORD not in problem and "got" not in problem


def test_a_secret_section_that_is_no_object_is_not_quoted() -> None:
    with pytest.raises(SettingsError) as error:
        parse_settings(
            {"topology": "commercial", "cutover": "not an object"}, region=REGION, secret_sections={"cutover"}
        )
    assert error.value.problems == ["platform:cutover: must be an object of keys"]


def test_a_section_pulumi_marks_secret_quotes_no_value_at_all() -> None:
    cutover = {**LEGACY, "ttlSeconds": 5000}
    with pytest.raises(SettingsError) as hidden:
        parse_settings(
            {"topology": "commercial", **PINNED["commercial"], "cutover": cutover},
            region=REGION,
            secret_sections={"cutover"},
        )
    assert hidden.value.problems == [
        "platform:cutover.ttlSeconds: Input should be less than or equal to 3600"
    ]
    # The same problem in a section without secrets shows the value, as everywhere else.
    [shown] = problems_of("commercial", cutover={"ttlSeconds": 5000})
    assert shown.endswith("(got 5000)")


def test_the_legacy_port_must_be_the_one_the_url_connects_to() -> None:
    transaction_mode = LEGACY_DATABASE_URL.replace(":5432/", ":6543/")
    [problem] = problems_of("commercial", cutover={**LEGACY, "legacyDatabaseUrl": transaction_mode})
    assert problem.startswith("platform:cutover.legacyDatabasePort: legacyDatabaseUrl connects to port 6543")
    assert PASSWORD not in problem
    settings = parse(
        "commercial", cutover={**LEGACY, "legacyDatabaseUrl": transaction_mode, "legacyDatabasePort": 6543}
    )
    assert settings.cutover.legacy_database_port == 6543


def test_load_settings_hides_the_values_of_a_section_pulumi_marks_secret(monkeypatch) -> None:
    # `pulumi config set --path --secret platform:cutover.legacyDatabaseUrl` hands the program the
    # whole section decrypted, as JSON, and lists `platform:cutover` among the secret keys.
    from tools.harness import last_run, run_stack

    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", '["platform:cutover"]')
    with pytest.raises(SettingsError) as error:
        run_stack("prod-commercial", {"platform:cutover": {**LEGACY, "ttlSeconds": 5}})
    assert error.value.problems == [
        "platform:cutover.ttlSeconds: Input should be greater than or equal to 30"
    ]
    assert last_run().resources == []


def test_the_master_user_cannot_take_the_api_roles_name() -> None:
    # components/database.py bootstrap_sql makes app_api a DML-only login; the master may not be it.
    problems = problems_of(database={"masterUsername": "app_api"})
    assert any("platform:database" in p and "'app_api' is the API's own role" in p for p in problems), (
        problems
    )
