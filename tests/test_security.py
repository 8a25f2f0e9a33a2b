"""Security: the ALB -> tasks -> database chain and least-privilege ECS roles."""

from __future__ import annotations

import json
import re

import pytest

from components.security import Security, SecurityArgs
from components.settings import SecuritySettings
from tools.harness import Run, run_stack
from tools.mocks import ACCOUNT_ID

CONFIG = {"aws:region": "ap-northeast-1", "platform:topology": "staging"}
REGION = "ap-northeast-1"
REPOSITORY_ARN = f"arn:aws:ecr:{REGION}:{ACCOUNT_ID}:repository/platform-staging-api"
LOG_GROUP = "/platform/staging/api"
# Not the defaults, so a hard-coded value cannot pass.
CONTAINER_PORT = 8080
DATABASE_PORT = 5433
LEGACY_DATABASE_PORT = 6543
ATLAS_BLOCK = "192.168.248.0/21"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/11111111-2222-4333-8444-555555555555"

SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"


def _security(
    *,
    alb_public: bool,
    name_prefix: str = "platform-staging",
    legacy_database_port: int | None = None,
    atlas_over_internet: bool = True,
    atlas_cidr: str | None = None,
) -> Security:
    return Security(
        "security",
        SecurityArgs(
            settings=SecuritySettings(),
            name_prefix=name_prefix,
            parameter_prefix="/platform/staging",
            region=REGION,
            vpc_id="vpc-0123456789abcdef0",
            vpc_cidr="10.0.0.0/16",
            container_port=CONTAINER_PORT,
            database_port=DATABASE_PORT,
            alb_public=alb_public,
            ecr_repository_arn=REPOSITORY_ARN,
            log_group_name=LOG_GROUP,
            kms_key_arn=KEY_ARN,
            legacy_database_port=legacy_database_port,
            atlas_over_internet=atlas_over_internet,
            atlas_cidr=atlas_cidr,
        ),
    )


@pytest.fixture(scope="module")
def run() -> Run:
    return run_stack("staging", config=CONFIG, program=lambda: _security(alb_public=True))


@pytest.fixture(scope="module")
def internal_run() -> Run:
    return run_stack("staging", config=CONFIG, program=lambda: _security(alb_public=False))


def _sg_id(run: Run, suffix: str) -> str:
    return run.named(f"security-{suffix}").id


def _rules(run: Run, type_: str, group_id: str) -> list:
    return [r for r in run.of_type(type_) if r["securityGroupId"] == group_id]


def _statements(document: str) -> list[dict]:
    return json.loads(document)["Statement"]


def _as_list(value: str | list[str]) -> list[str]:
    return value if isinstance(value, list) else [value]


# -- Security groups ---------------------------------------------------------------------------


def test_security_groups_have_no_inline_rules(run: Run) -> None:
    groups = run.of_type(SG)
    assert len(groups) == 3
    for group in groups:
        assert not group.get("ingress") and not group.get("egress"), group.name


def test_database_admits_only_the_task_security_group(run: Run) -> None:
    database, tasks = _sg_id(run, "database"), _sg_id(run, "tasks")
    [rule] = _rules(run, INGRESS, database)
    assert rule["referencedSecurityGroupId"] == tasks
    assert rule.get("cidrIpv4") is None and rule.get("cidrIpv6") is None
    assert (rule["ipProtocol"], rule["fromPort"], rule["toPort"]) == ("tcp", DATABASE_PORT, DATABASE_PORT)
    assert _rules(run, EGRESS, database) == []


def test_tasks_admit_only_the_alb_on_the_container_port(run: Run) -> None:
    tasks, alb = _sg_id(run, "tasks"), _sg_id(run, "alb")
    [rule] = _rules(run, INGRESS, tasks)
    assert rule["referencedSecurityGroupId"] == alb
    assert rule.get("cidrIpv4") is None
    assert (rule["fromPort"], rule["toPort"]) == (CONTAINER_PORT, CONTAINER_PORT)


def test_task_egress_is_https_the_database_and_atlas(run: Run) -> None:
    tasks, database = _sg_id(run, "tasks"), _sg_id(run, "database")
    egress = {
        (r["fromPort"], r.get("cidrIpv4") or r.get("referencedSecurityGroupId"))
        for r in _rules(run, EGRESS, tasks)
    }
    assert egress == {(443, "0.0.0.0/0"), (DATABASE_PORT, database), (27017, "0.0.0.0/0")}


def test_atlas_over_private_link_closes_the_internet_mongodb_port() -> None:
    private = run_stack(
        "staging", config=CONFIG, program=lambda: _security(alb_public=False, atlas_over_internet=False)
    )
    ports = {r["fromPort"] for r in _rules(private, EGRESS, _sg_id(private, "tasks"))}
    assert 27017 not in ports and 443 in ports


def _mongodb_egress(run: Run) -> set[tuple[str, int, int, str]]:
    return {
        (r["ipProtocol"], r["fromPort"], r["toPort"], r.get("cidrIpv4") or r.get("referencedSecurityGroupId"))
        for r in _rules(run, EGRESS, _sg_id(run, "tasks"))
        if r["fromPort"] == 27017
    }


def test_peered_atlas_is_reached_only_in_its_block() -> None:
    peered = run_stack(
        "staging",
        config=CONFIG,
        program=lambda: _security(alb_public=False, atlas_over_internet=False, atlas_cidr=ATLAS_BLOCK),
    )
    assert _mongodb_egress(peered) == {("tcp", 27017, 27017, ATLAS_BLOCK)}
    # Nothing reaches the tasks from the peered block.
    assert all(r.get("cidrIpv4") is None for r in peered.of_type(INGRESS))


def test_a_cutover_on_legacy_data_keeps_the_internet_atlas_beside_the_peered_one() -> None:
    both = run_stack(
        "staging",
        config=CONFIG,
        program=lambda: _security(alb_public=False, atlas_over_internet=True, atlas_cidr=ATLAS_BLOCK),
    )
    assert _mongodb_egress(both) == {("tcp", 27017, 27017, ATLAS_BLOCK), ("tcp", 27017, 27017, "0.0.0.0/0")}


@pytest.mark.parametrize("block", ["0.0.0.0/0", "203.0.113.0/24"])
def test_a_peered_atlas_block_must_be_private(block: str) -> None:
    with pytest.raises(ValueError, match="not private"):
        run_stack(
            "staging",
            config=CONFIG,
            program=lambda: _security(alb_public=False, atlas_over_internet=False, atlas_cidr=block),
        )


def test_during_the_cutover_on_legacy_data_tasks_also_reach_its_postgres_port_and_nothing_else() -> None:
    legacy = run_stack(
        "staging",
        config=CONFIG,
        program=lambda: _security(alb_public=False, legacy_database_port=LEGACY_DATABASE_PORT),
    )
    tasks, database = _sg_id(legacy, "tasks"), _sg_id(legacy, "database")
    egress = {
        (r["ipProtocol"], r["fromPort"], r["toPort"], r.get("cidrIpv4") or r.get("referencedSecurityGroupId"))
        for r in _rules(legacy, EGRESS, tasks)
    }
    assert egress == {
        ("tcp", 443, 443, "0.0.0.0/0"),
        ("tcp", DATABASE_PORT, DATABASE_PORT, database),
        ("tcp", 27017, 27017, "0.0.0.0/0"),
        ("tcp", LEGACY_DATABASE_PORT, LEGACY_DATABASE_PORT, "0.0.0.0/0"),
    }
    rule = legacy.named("security-tasks-out-legacy-database")
    assert "Cut-over" in rule["description"] and "Supabase" in rule["description"]
    # Nothing new may reach the tasks or the database.
    assert len(legacy.of_type(INGRESS)) == 2


@pytest.mark.parametrize("port", [443, 27017])
def test_a_legacy_port_that_is_open_already_is_refused(port: int) -> None:
    with pytest.raises(ValueError, match="already open"):
        run_stack(
            "staging", config=CONFIG, program=lambda: _security(alb_public=True, legacy_database_port=port)
        )


def test_public_alb_admits_http_and_https_and_talks_only_to_tasks(run: Run) -> None:
    alb, tasks = _sg_id(run, "alb"), _sg_id(run, "tasks")
    ingress = {(r["fromPort"], r["toPort"], r.get("cidrIpv4")) for r in _rules(run, INGRESS, alb)}
    assert ingress == {(80, 80, "0.0.0.0/0"), (443, 443, "0.0.0.0/0")}
    [egress] = _rules(run, EGRESS, alb)
    assert egress["referencedSecurityGroupId"] == tasks
    assert (egress["fromPort"], egress["toPort"]) == (CONTAINER_PORT, CONTAINER_PORT)


def test_internal_alb_gets_no_internet_ingress(internal_run: Run) -> None:
    assert _rules(internal_run, INGRESS, _sg_id(internal_run, "alb")) == []
    cidrs = [r.get("cidrIpv4") for r in internal_run.of_type(INGRESS)]
    assert "0.0.0.0/0" not in cidrs


# -- IAM ---------------------------------------------------------------------------------------


def test_execution_policy_is_scoped_to_exact_resources(run: Run) -> None:
    policy = run.one("aws:iam/rolePolicy:RolePolicy", "execution")
    assert policy["role"] == run.named("security-execution-role")["name"]
    granted: dict[str, list[str]] = {}
    for statement in _statements(policy["policy"]):
        assert statement["Effect"] == "Allow"
        for action in _as_list(statement["Action"]):
            assert "*" not in action, action
            granted[action] = _as_list(statement["Resource"])
    parameters = f"arn:aws:ssm:{REGION}:{ACCOUNT_ID}:parameter/platform/staging/*"
    log_streams = f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{LOG_GROUP}:*"
    assert granted == {
        "ecr:GetAuthorizationToken": ["*"],
        "ecr:BatchCheckLayerAvailability": [REPOSITORY_ARN],
        "ecr:GetDownloadUrlForLayer": [REPOSITORY_ARN],
        "ecr:BatchGetImage": [REPOSITORY_ARN],
        "logs:CreateLogStream": [log_streams],
        "logs:PutLogEvents": [log_streams],
        "ssm:GetParameters": [parameters],
        "kms:Decrypt": [KEY_ARN],
    }


def test_roles_trust_only_ecs_tasks_acting_for_this_account(run: Run) -> None:
    roles = run.of_type("aws:iam/role:Role")
    assert {r["name"] for r in roles} == {"platform-staging-ecs-execution", "platform-staging-ecs-task"}
    for role in roles:
        [statement] = _statements(role["assumeRolePolicy"])
        assert statement["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
        assert statement["Action"] == "sts:AssumeRole"
        assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT_ID


def test_task_role_has_no_permissions(run: Run) -> None:
    task_role = run.named("security-task-role")
    for type_ in ("aws:iam/rolePolicy:RolePolicy", "aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        assert all(r["role"] not in (task_role.id, task_role["name"]) for r in run.of_type(type_))
    assert not task_role.get("managedPolicyArns") and not task_role.get("inlinePolicies")


def test_outputs_point_at_the_resources(run: Run) -> None:
    outputs = run.one("platform:security:Security").outputs
    assert outputs["task_security_group_id"] == _sg_id(run, "tasks")
    assert outputs["database_security_group_id"] == _sg_id(run, "database")
    assert outputs["alb_security_group_id"] == _sg_id(run, "alb")
    assert outputs["execution_role_name"] == "platform-staging-ecs-execution"
    assert outputs["task_role_arn"].endswith(":role/platform-staging-ecs-task")


# EC2 accepts only these characters in security group and rule descriptions (a ' or a non-ASCII
# dash is refused at `pulumi up`, never under the mocks).
EC2_DESCRIPTION = re.compile(r"[a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*]{0,255}")


def test_descriptions_use_only_characters_ec2_accepts() -> None:
    run = run_stack(
        "staging", config=CONFIG, program=lambda: _security(alb_public=True, legacy_database_port=6543)
    )
    described = run.of_type(SG) + run.of_type(INGRESS) + run.of_type(EGRESS)
    assert len(described) >= 10
    for resource in described:
        assert EC2_DESCRIPTION.fullmatch(resource["description"]), resource.name
