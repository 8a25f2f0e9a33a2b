"""The cross-checks table: each unsafe combination a user can reach from config is refused in the
settings phase, naming the key, before any resource is registered."""

from __future__ import annotations

import string

import pytest

from components.settings import (
    CROSS_CHECKS,
    SECTIONS,
    TOPOLOGIES,
    SettingsError,
    deep_merge,
    entry_model,
    parse_settings,
)
from tools.harness import last_run, run_stack, stack_config

REGION = "ap-northeast-1"
COMMERCIAL = {
    "services": {"api": {"imageTag": "1.0.0"}, "web": {"imageTag": "1.0.0"}},
    "dns": {"domain": "example.com"},
}
# Staging serves the web and the API on their own host names, which needs a domain.
STAGING = {"dns": {"domain": "example.com"}}
BASES = {"commercial": COMMERCIAL, "staging": STAGING}


def parse(topology: str, region: str = REGION, stack: str = "test", **sections: object):
    config = {"topology": topology, **deep_merge(BASES.get(topology, {}), sections)}
    return parse_settings(config, stack=stack, region=region)


def problems_of(topology: str, region: str = REGION, **sections: object) -> list[str]:
    config = {"topology": topology, **deep_merge(BASES.get(topology, {}), sections)}
    with pytest.raises(SettingsError) as error:
        parse_settings(config, stack="test", region=region)
    return error.value.problems


def test_an_atlas_joined_to_the_vpc_must_be_in_the_stacks_region() -> None:
    # Atlas peering with a security group in the access list, and PrivateLink endpoints, work
    # only within one region (Atlas docs: "Set Up a Network Peering Connection" -- "the Atlas
    # VPC and your AWS VPC must be in the same region" for security-group access; PrivateLink:
    # "Atlas supports private endpoints in the region of the cluster").
    problems = problems_of("commercial", region="eu-west-1")
    assert [p for p in problems if p.startswith("platform:atlas.region: 'AP_NORTHEAST_1'")], problems
    assert any("'EU_WEST_1'" in p for p in problems)


def test_a_public_atlas_may_live_in_another_region() -> None:
    settings = parse("staging", region="eu-west-1")
    assert settings.atlas.region == "AP_NORTHEAST_1"


def test_the_offline_run_refuses_the_region_mismatch_before_any_resource() -> None:
    with pytest.raises(SettingsError, match=r"platform:atlas\.region"):
        run_stack("prod-commercial", {"aws:region": "eu-west-1"})
    run = last_run()
    assert run is not None and run.stack == "prod-commercial" and run.resources == []


@pytest.mark.parametrize(("cidr", "refused"), [("10.0.0.0/24", True), ("10.0.0.0/23", False)])
def test_the_vpc_leaves_public_subnets_an_alb_accepts(cidr: str, refused: bool) -> None:
    # ELB: an ALB's subnets need "at least a /27 bitmask". A /24 VPC's public subnets are /28
    # (the plan gives each a sixteenth of the VPC: 256 / 16 = 16 addresses), a /23's are /27.
    if refused:
        problems = problems_of("staging", network={"cidr": cidr})
        assert any(
            p.startswith("platform:network.cidr: 10.0.0.0/24 leaves public subnets of /28") for p in problems
        )
    else:
        parse("staging", network={"cidr": cidr})


@pytest.mark.parametrize("instance_class", ["db.t4g.mikro", "db.t5.micro", "db.m7g.micro", "db.t4g.3xlarge"])
def test_an_rds_instance_class_that_does_not_exist_is_refused(instance_class: str) -> None:
    problems = problems_of("staging", database={"instanceClass": instance_class})
    assert any(p.startswith(f"platform:database.instanceClass: {instance_class!r} is not") for p in problems)


@pytest.mark.parametrize("instance_class", ["db.t4g.micro", "db.t3.small", "db.m7g.large", "db.r6g.2xlarge"])
def test_real_rds_postgres_classes_pass(instance_class: str) -> None:
    # Classes the RDS User Guide lists for PostgreSQL (Concepts.DBInstanceClass.Support).
    settings = parse("staging", database={"instanceClass": instance_class})
    assert settings.database.instance_class == instance_class


@pytest.mark.parametrize(
    "name", ["STRIPE_SECRET_KEY", "GITHUB_TOKEN_FOR_CI", "DB_PASSWORD", "password", "JWT_SECRET", "API_KEY"]
)
def test_a_plain_variable_named_like_a_secret_is_refused(name: str) -> None:
    value = "sk_live_do-not-print"
    for topology, key, sections in (
        ("staging", "services.web", {"services": {"web": {"environment": {name: value}}}}),
        ("pre-commercial", "render", {"render": {"environment": {name: value}}}),
    ):
        problems = problems_of(topology, **sections)
        assert any(p.startswith(f"platform:{key}.environment") and name in p for p in problems), problems
        assert not any(value in p for p in problems), "the refused value is never quoted"


@pytest.mark.parametrize("name", ["LOG_LEVEL", "KEYCLOAK_URL", "TOKENS_PER_MINUTE", "PUBLIC_KEYS_URL"])
def test_ordinary_variables_pass(name: str) -> None:
    settings = parse("staging", services={"api": {"environment": {name: "x"}}})
    assert name in settings.services["api"].environment


def test_staging_and_commercial_default_to_different_hosts() -> None:
    # Two stacks on one name would share (and fight over) its ACM validation record and its
    # Route 53 alias: staging gets its own names by default.
    staging, commercial = parse("staging", stack="s"), parse("commercial", stack="c")
    for service in ("api", "web"):
        assert staging.services[service].subdomain != commercial.services[service].subdomain


def test_a_missing_permissions_boundary_is_refused_before_any_resource() -> None:
    # Every role needs the boundary the deploy role requires (bootstrap/github_oidc.py); without
    # the policy, CreateRole would fail halfway through the first up.
    with pytest.raises(SettingsError, match=r"platform:security\.permissionsBoundary: no IAM policy"):
        run_stack("staging", {"platform:security": {"permissionsBoundary": "not-the-bootstrap-policy"}})
    run = last_run()
    assert run is not None and run.resources == []


# -- the table itself ------------------------------------------------------------------------------


def test_every_row_names_a_key_as_the_stack_file_writes_it() -> None:
    for check in CROSS_CHECKS:
        if check.key in ("aws:region", "stack"):
            continue
        namespace, _, path = check.key.partition(":")
        section, _, rest = path.partition(".")
        assert namespace == "platform" and section in SECTIONS, check.key
        if section == "services":  # a map: the entry's name, then one of an entry's keys
            name, _, rest = rest.partition(".")
            assert name in ("", "<name>", "api"), check.key
        aliases = {field.alias for field in entry_model(section).model_fields.values()}
        assert not rest or rest.split(".")[0] in aliases | {"<key>"}, check.key
        assert check.checks and set(check.topologies) <= set(TOPOLOGIES), check.key
    for check in CROSS_CHECKS:  # a message template names only the settings and the item
        if isinstance(check.message, str):
            fields = [field for _, field, _, _ in string.Formatter().parse(check.message) if field]
            assert all(f == "item" or f.startswith("s.") for f in fields), (check.key, fields)


# -- component refusals a user could reach, now refused in the settings phase ---------------------


def test_a_certificate_without_a_domain_is_refused_in_staging_too() -> None:
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
    problems = problems_of(
        "staging",
        edge={"cloudfront": True, "certificateArn": arn},
        dns={"domain": None},
        services={"web": {"enabled": False}},
    )
    assert problems == ["platform:edge.certificateArn: needs platform:dns.domain for the CloudFront aliases"]


@pytest.mark.parametrize(
    ("topology", "section", "cidr"),
    [
        ("staging", "atlas", "::/0"),
        ("pre-commercial", "render", "0.0.0.0/0"),
        ("pre-commercial", "render", "::/0"),
    ],
)
def test_an_atlas_access_list_of_the_whole_internet_is_refused(
    topology: str, section: str, cidr: str
) -> None:
    key = "accessCidrs" if section == "atlas" else "outboundCidrs"
    base = {"vercel": {"teamId": "team_abc123"}} if topology == "pre-commercial" else {}
    [problem] = problems_of(topology, **base, **{section: {key: [cidr, "203.0.113.10/32"]}})
    assert problem.startswith(f"platform:{section}.{key}: {cidr} would open")


def test_render_addresses_of_the_whole_internet_fail_before_any_resource() -> None:
    # Before, the Atlas component refused them after Sentry and Supabase were registered.
    with pytest.raises(SettingsError, match=r"platform:render\.outboundCidrs: 0\.0\.0\.0/0"):
        run_stack("prod-precommercial", {"platform:render": {"outboundCidrs": ["0.0.0.0/0"]}})
    run = last_run()
    assert run is not None and run.resources == []


# The stack's name goes into physical names. Limits from the services' documentation: S3 bucket
# names are 3-63 characters of lower-case letters, digits, dots and hyphens (S3 User Guide,
# "General purpose bucket naming rules"); IAM role names at most 64 characters (CreateRole,
# RoleName); Sentry project slugs 1-50 lower-case letters, digits, '-' or '_'. The ALB log
# bucket is "platform-<stack>-alb-logs-<12-digit account>": 9 + len(stack) + 10 + 12 <= 63, so a
# stack name may have 32 characters; the backup bucket "platform-<stack>-backups-<account>":
# 9 + len + 9 + 12 <= 63, 33 characters; the longest ECS role "platform-<stack>-db-admin-execution":
# 9 + len + 19 <= 64, 36 (the database admin task's, "-db-admin-execution"); the web's Sentry slug "platform-<stack>-web": 9 + len + 4 <= 50, 37.
def stack_problems(topology: str, stack: str, **sections: object) -> list[str]:
    try:
        parse(topology, stack=stack, **sections)
    except SettingsError as error:
        return [p for p in error.problems if p.startswith("stack: ")]
    return []


@pytest.mark.parametrize(
    ("topology", "longest"),
    [("staging", 32), ("commercial", 32), ("pre-commercial", 33)],
)
def test_a_stack_name_too_long_for_its_bucket_is_refused(topology: str, longest: int) -> None:
    sections = {"vercel": {"teamId": "team_abc123"}} if topology == "pre-commercial" else {}
    assert stack_problems(topology, "s" * longest, **sections) == []
    [problem] = stack_problems(topology, "s" * (longest + 1), **sections)
    assert problem.startswith(f"stack: '{'s' * (longest + 1)}' makes the S3 bucket name platform-")
    assert "63 characters" in problem


@pytest.mark.parametrize("stack", ["Staging", "staging_2", "staging.2"])
def test_a_stack_name_s3_refuses_is_refused(stack: str) -> None:
    problems = stack_problems("staging", stack)
    assert any(
        p.startswith(f"stack: {stack!r} makes the S3 bucket name platform-{stack}-alb-logs-")
        for p in problems
    )
    if stack != "staging_2":  # Sentry slugs allow '_'
        assert any("Sentry project slug" in p for p in problems)


def test_a_stack_name_too_long_for_an_iam_role_is_refused() -> None:
    # Staging's longest role is the database admin task's execution role,
    # "platform-<stack>-db-admin-execution": 9 + len + 19 <= 64 (CreateRole, RoleName), so 36.
    assert not any("IAM role" in p for p in stack_problems("staging", "s" * 36))
    assert any(
        p.startswith(
            f"stack: '{'s' * 37}' is too long: the IAM role name platform-{'s' * 37}-db-admin-execution"
        )
        for p in stack_problems("staging", "s" * 37)
    )


def test_the_longest_role_the_stack_makes_sets_the_limit() -> None:
    # Commercial turns Datadog's AWS integration on: its role "platform-<stack>-datadog-integration"
    # is 9 + len + 20 <= 64 characters (CreateRole, RoleName), so 35 characters at most.
    assert not any("IAM role" in p for p in stack_problems("commercial", "s" * 35))
    assert any(
        p.startswith(
            f"stack: '{'s' * 36}' is too long: the IAM role name platform-{'s' * 36}-datadog-integration"
        )
        for p in stack_problems("commercial", "s" * 36)
    )


def test_a_stack_name_too_long_for_a_sentry_slug_is_refused() -> None:
    # Pre-commercial without backups has no bucket; its Sentry projects are the API's and the web's.
    sections = {"vercel": {"teamId": "team_abc123"}, "backup": {"enabled": False}}
    assert stack_problems("pre-commercial", "s" * 37, **sections) == []
    [problem] = stack_problems("pre-commercial", "s" * 38, **sections)
    assert problem.startswith(f"stack: '{'s' * 38}' makes the Sentry project slug 'platform-{'s' * 38}-api'")
    assert stack_problems("pre-commercial", "s" * 38, **sections, sentry={"enabled": False}) == []


def test_a_bad_stack_name_fails_before_any_resource() -> None:
    with pytest.raises(SettingsError, match=r"stack: 'Staging' makes the S3 bucket name"):
        run_stack("Staging", config=stack_config("staging"))
    run = last_run()
    assert run is not None and run.resources == []


# -- the topology rules, one case each -------------------------------------------------------------

_URL_ON_443 = "postgresql://postgres.abcdefghijklmnopqrst:pw@pooler.example.com:443/postgres?sslmode=require"
_CANARY = {
    "phase": "canary",
    "hosts": {
        "api": {"legacyHost": "platform-api.onrender.com"},
        "web": {"legacyHost": "cname.vercel-dns-0.com", "healthCheckHost": "platform-web.vercel.app"},
    },
    "legacyDatabaseUrl": _URL_ON_443,
    "legacyMongodbUri": "mongodb+srv://app:pw@platform.abcde.mongodb.net/app",
    "legacyDatabasePort": 443,
}


@pytest.mark.parametrize(
    ("topology", "sections", "expected"),
    [
        # Commercial is highly available in every tier, and its data protected (the seed's design).
        (
            "commercial",
            {"network": {"nat": "none"}},
            "platform:network.nat: commercial keeps tasks in private subnets; 'none' is not allowed",
        ),
        (
            "commercial",
            {"database": {"engine": "rds-postgres"}},
            "platform:database.engine: commercial runs 'aurora-serverless-v2' (got 'rds-postgres')",
        ),
        (
            "commercial",
            {"database": {"readerInstances": 0}},
            "platform:database.readerInstances: commercial needs a reader in a second AZ (got 0)",
        ),
        (
            "commercial",
            {"database": {"skipFinalSnapshot": True}},
            "platform:database: commercial data must keep deletionProtection on and skipFinalSnapshot off",
        ),
        (
            "commercial",
            {"database": {"deletionProtection": False}},
            "platform:database: commercial data must keep deletionProtection on and skipFinalSnapshot off",
        ),
        (
            "commercial",
            {"database": {"backupRetentionDays": 3}},
            "platform:database.backupRetentionDays: commercial keeps at least 7 days (got 3)",
        ),
        (
            "commercial",
            {"services": {"web": {"minCount": 1}}},
            "platform:services.web.minCount: commercial needs at least 2 tasks for HA (got 1)",
        ),
        (
            "commercial",
            {"schedule": {"mode": "stop"}},
            "platform:schedule.mode: commercial runs 24/7; use 'scale-down', not 'stop'",
        ),
        (
            "commercial",
            {"schedule": {"offHoursMinCount": 1}},
            "platform:schedule.offHoursMinCount: commercial keeps at least 2 tasks at night for HA (got 1)",
        ),
        (
            "commercial",
            {"atlas": {"tier": "M0", "connectivity": "public", "cloudBackup": False, "pitRestore": False}},
            "platform:atlas.tier: commercial needs a dedicated tier M10 or larger (got 'M0')",
        ),
        # The night floor may not exceed the day's (commercial: 3 tasks by day).
        (
            "commercial",
            {"schedule": {"offHoursMinCount": 4}},
            "platform:schedule.offHoursMinCount: 4 is above platform:services.api.minCount 3, the daytime floor",
        ),
        # EC2 refuses a second egress rule for 443, which the tasks already have.
        (
            "commercial",
            {"cutover": _CANARY},
            "platform:cutover.legacyDatabasePort: 443 is a port the tasks already reach on the internet (443, 27017); EC2 refuses the duplicate rule",
        ),
        # Without NAT the tasks' public addresses change with every task.
        (
            "staging",
            {"network": {"nat": "none"}},
            "platform:atlas.accessCidrs: with platform:network.nat 'none' the tasks' public addresses change",
        ),
        # Pre-commercial stays on Atlas' free tiers.
        (
            "pre-commercial",
            {"vercel": {"teamId": "team_abc123"}, "atlas": {"tier": "M10"}},
            "platform:atlas.tier: pre-commercial uses the free M0 or FLEX tier (got 'M10')",
        ),
    ],
)
def test_each_topology_rule_refuses_what_it_says(topology: str, sections: dict, expected: str) -> None:
    problems = problems_of(topology, **sections)
    assert any(p.startswith(expected) for p in problems), problems


# -- pre-commercial: Vercel, Render and the web's name ------------------------------------------

_TEAM = {"teamId": "team_abc123"}


def test_vercel_and_render_never_claim_one_custom_domain() -> None:
    dns = {"domain": "example.com", "apiSubdomain": "app", "webSubdomain": "app"}
    [problem] = problems_of("pre-commercial", vercel=_TEAM, dns=dns, render={"customDomain": True})
    assert problem == (
        "platform:dns.webSubdomain: 'app' is also platform:dns.apiSubdomain: Vercel (the web) and "
        "Render (the API, render.customDomain) would both claim app.example.com; give them different "
        "subdomains (defaults: www and api)"
    )
    # Render on onrender.com, or Vercel gone: only one of them claims the name.
    assert parse_settings(
        {"topology": "pre-commercial", "vercel": _TEAM, "dns": dns}, stack="test", region="ap-northeast-1"
    )
    assert parse_settings(
        {
            "topology": "pre-commercial",
            "vercel": {"enabled": False},
            "dns": dns,
            "render": {"customDomain": True},
        },
        stack="test",
        region="ap-northeast-1",
    )


def test_vercel_is_dropped_only_where_the_web_has_a_name_to_move_to() -> None:
    [problem] = problems_of("pre-commercial", vercel={"enabled": False})
    assert problem.startswith(
        "platform:vercel.enabled: false drops the only place this stack serves the web from: without "
        "platform:dns.domain its users are at <projectName>.vercel.app"
    )


def test_without_vercel_its_own_rules_do_not_apply() -> None:
    # No team and the Hobby plan are refused only for a project the stack still makes.
    settings = parse_settings(
        {
            "topology": "pre-commercial",
            "vercel": {"enabled": False, "plan": "hobby"},
            "dns": {"domain": "example.com"},
        },
        stack="test",
        region="ap-northeast-1",
    )
    assert settings.vercel.enabled is False
    problems = problems_of("pre-commercial", vercel={"plan": "hobby"})
    assert {p.split(":")[1] for p in problems} == {"vercel.teamId", "vercel.plan"}
