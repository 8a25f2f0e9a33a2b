"""The cross-checks table: each unsafe combination a user can reach from config is refused in the
settings phase, naming the key, before any resource is registered."""

from __future__ import annotations

import pytest

from components.settings import SettingsError, parse_settings
from tools.harness import last_run, run_stack

REGION = "ap-northeast-1"
COMMERCIAL = {"compute": {"imageTag": "1.0.0"}, "dns": {"domain": "example.com"}}


def problems_of(topology: str, region: str = REGION, **sections: object) -> list[str]:
    base = COMMERCIAL if topology == "commercial" else {}
    config = {"topology": topology, **base, **sections}
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
    settings = parse_settings({"topology": "staging"}, stack="test", region="eu-west-1")
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
        parse_settings({"topology": "staging", "network": {"cidr": cidr}}, stack="test", region=REGION)


@pytest.mark.parametrize("instance_class", ["db.t4g.mikro", "db.t5.micro", "db.m7g.micro", "db.t4g.3xlarge"])
def test_an_rds_instance_class_that_does_not_exist_is_refused(instance_class: str) -> None:
    problems = problems_of("staging", database={"instanceClass": instance_class})
    assert any(p.startswith(f"platform:database.instanceClass: {instance_class!r} is not") for p in problems)


@pytest.mark.parametrize("instance_class", ["db.t4g.micro", "db.t3.small", "db.m7g.large", "db.r6g.2xlarge"])
def test_real_rds_postgres_classes_pass(instance_class: str) -> None:
    # Classes the RDS User Guide lists for PostgreSQL (Concepts.DBInstanceClass.Support).
    settings = parse_settings(
        {"topology": "staging", "database": {"instanceClass": instance_class}}, stack="test", region=REGION
    )
    assert settings.database.instance_class == instance_class


@pytest.mark.parametrize(
    "name", ["STRIPE_SECRET_KEY", "GITHUB_TOKEN_FOR_CI", "DB_PASSWORD", "password", "JWT_SECRET", "API_KEY"]
)
def test_a_plain_variable_named_like_a_secret_is_refused(name: str) -> None:
    value = "sk_live_do-not-print"
    for section in ("compute", "render"):
        problems = problems_of(
            "staging" if section == "compute" else "pre-commercial",
            **{section: {"environment": {name: value}}},
        )
        assert any(p.startswith(f"platform:{section}.environment") and name in p for p in problems), problems
        assert not any(value in p for p in problems), "the refused value is never quoted"


@pytest.mark.parametrize("name", ["LOG_LEVEL", "KEYCLOAK_URL", "TOKENS_PER_MINUTE", "PUBLIC_KEYS_URL"])
def test_ordinary_variables_pass(name: str) -> None:
    settings = parse_settings(
        {"topology": "staging", "compute": {"environment": {name: "x"}}}, stack="test", region=REGION
    )
    assert name in settings.compute.environment


def test_staging_and_commercial_default_to_different_hosts() -> None:
    # Two stacks on one name would share (and fight over) its ACM validation record and its
    # Route 53 alias: staging gets its own names by default.
    staging = parse_settings({"topology": "staging"}, stack="s", region=REGION).dns
    commercial = parse_settings({"topology": "commercial", **COMMERCIAL}, stack="c", region=REGION).dns
    assert staging.api_subdomain != commercial.api_subdomain
    assert staging.web_subdomain != commercial.web_subdomain


def test_a_missing_permissions_boundary_is_refused_before_any_resource() -> None:
    # Every role needs the boundary the deploy role requires (bootstrap/github_oidc.py); without
    # the policy, CreateRole would fail halfway through the first up.
    with pytest.raises(SettingsError, match=r"platform:security\.permissionsBoundary: no IAM policy"):
        run_stack("staging", {"platform:security": {"permissionsBoundary": "not-the-bootstrap-policy"}})
    run = last_run()
    assert run is not None and run.resources == []
