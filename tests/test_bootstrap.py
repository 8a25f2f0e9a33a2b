"""bootstrap/: GitHub OIDC trust scoped to this repository's pull requests (preview) and to its main
branch and protected environments (deploy), least privilege, and a locked-down state backend."""

from __future__ import annotations

import json
import runpy
import sys
from typing import Any

import pytest

from components.settings import SettingsError
from tools.harness import ROOT_DIR, Run, last_run, run_stack, stack_config

BOOTSTRAP = ROOT_DIR / "bootstrap"
PROJECT = "platform-bootstrap"
ISSUER = "token.actions.githubusercontent.com"

# Pulumi runs bootstrap/__main__.py and the policy pack with their directories on sys.path; so do
# the tests.
sys.path[:0] = [str(BOOTSTRAP), str(ROOT_DIR / "policy")]
import bootstrap_settings  # noqa: E402
import rules  # noqa: E402

from tests import iam_eval  # noqa: E402
from tests.iam_eval import Principal, Request  # noqa: E402

ACCOUNT = "123456789012"
ENVIRONMENTS = ["staging", "prod-precommercial", "prod-commercial"]


def _program() -> None:
    runpy.run_path(str(BOOTSTRAP / "__main__.py"), run_name="__main__")


def _run(overrides: dict[str, Any] | None = None) -> Run:
    return run_stack("main", overrides, program=_program, root=BOOTSTRAP, project=PROJECT)


@pytest.fixture(scope="module")
def run() -> Run:
    return _run()


@pytest.fixture(scope="module")
def repository() -> str:
    return stack_config("main", BOOTSTRAP)["bootstrap:githubRepository"]


def _trust(run: Run, role: str) -> dict[str, Any]:
    [statement] = json.loads(run.one("aws:iam/role:Role", role)["assumeRolePolicy"])["Statement"]
    return statement


def _inline(run: Run, name: str) -> list[dict[str, Any]]:
    return json.loads(run.one("aws:iam/rolePolicy:RolePolicy", name)["policy"])["Statement"]


def _document(run: Run, type_: str, name: str) -> str:
    return run.one(type_, name)["policy"]


def _bucket(run: Run) -> str:
    return run.one("aws:s3/bucket:Bucket", "github-state").outputs["arn"]


def _as(run: Run, role: str) -> dict[str, str]:
    """The request context of a session of ``role`` (aws:PrincipalArn is the role's ARN)."""
    return {"aws:PrincipalArn": run.one("aws:iam/role:Role", role).outputs["arn"]}


def _principal(run: Run, role: str, *, read_only: bool = False) -> Principal:
    """A role as IAM evaluates it: its managed and inline policies, plus the state bucket's
    policy, whose denials key on the caller's role ARN (inserted into every request here)."""
    managed = {
        "arn:aws:iam::aws:policy/PowerUserAccess": iam_eval.POWER_USER_ACCESS,
        "arn:aws:iam::aws:policy/ReadOnlyAccess": iam_eval.READ_ONLY_ACCESS_SUBSET,
    }
    policies = [managed[arn] for arn in _attached(run, role)] + [
        p["policy"] for p in run.of_type("aws:iam/rolePolicy:RolePolicy") if p.name.startswith(role)
    ]
    bucket_policies = [p["policy"] for p in run.of_type("aws:s3/bucketPolicy:BucketPolicy")]
    return _AsRole(policies, None, bucket_policies, _as(run, role))


class _AsRole(Principal):
    def __init__(self, policies, boundary, resource_policies, caller):
        super().__init__(policies, boundary, resource_policies)
        object.__setattr__(self, "caller", caller)

    def decide(self, request: Request) -> str:
        return super().decide(Request(request.action, request.resource, {**self.caller, **request.context}))


def _attached(run: Run, role_logical_name: str) -> set[str]:
    return {
        a["policyArn"]
        for a in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.name.startswith(role_logical_name)
    }


def test_committed_stack_names_a_repository(repository):
    assert repository.count("/") == 1


def test_oidc_provider_trusts_github_for_sts(run):
    provider = run.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider["url"] == f"https://{ISSUER}"
    assert provider["clientIdLists"] == ["sts.amazonaws.com"]


def test_preview_role_trusts_only_the_preview_environment(run, repository):
    statement = _trust(run, "github-preview")
    provider = run.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert statement["Principal"] == {"Federated": provider.outputs["arn"]}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            f"{ISSUER}:aud": "sts.amazonaws.com",
            f"{ISSUER}:sub": [f"repo:{repository}:environment:preview"],
        }
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_environment_has_its_own_deploy_role_trusted_only_by_that_environment(run, repository, env):
    conditions = _trust(run, f"github-{env}-deploy")["Condition"]
    assert set(conditions) == {"StringEquals"}  # exact subjects: no wildcard, no branch
    # GitHub's subject for a job with an environment: repo:<owner>/<repo>:environment:<name>
    # (docs.github.com, "About security hardening with OpenID Connect", example subject claims).
    assert conditions["StringEquals"][f"{ISSUER}:sub"] == [f"repo:{repository}:environment:{env}"]
    assert conditions["StringEquals"][f"{ISSUER}:aud"] == "sts.amazonaws.com"
    assert run.output("AWS_DEPLOY_ROLE_ARN")[env].endswith(f":role/platform-github-{env}-deploy")


def test_a_production_only_account_has_only_its_environments():
    run = _run({"bootstrap:environments": ["prod-commercial"], "bootstrap:previewStacks": []})
    # Sorted: resources register concurrently, so their order is not the program's.
    assert sorted(r.name for r in run.of_type("aws:iam/role:Role")) == [
        "github-preview",
        "github-prod-commercial-deploy",
    ]
    # No stack of this account is previewed: the preview role may read no state and no key.
    statements = {s["Sid"]: s for s in _inline(run, "github-preview-limits")}
    assert statements["NoObjectReadsOutsideThePreviewState"]["NotResource"] == []


def test_preview_role_is_read_only_and_cannot_read_secrets_or_data(run):
    assert _attached(run, "github-preview") == {"arn:aws:iam::aws:policy/ReadOnlyAccess"}
    statements = _inline(run, "github-preview-limits")
    denied = {a for s in statements if s["Effect"] == "Deny" for a in s["Action"]}
    assert {"ssm:GetParameter", "ssm:GetParameters", "secretsmanager:GetSecretValue", "kms:Decrypt"} <= denied
    assert {"s3:GetObject", "logs:GetLogEvents"} <= denied
    allowed = [a for s in statements if s["Effect"] == "Allow" for a in rules._items(s["Action"])]
    assert allowed == ["kms:Decrypt", "kms:Decrypt"]


def test_preview_role_cannot_take_or_break_the_state_lock(run):
    """pulumi/pulumi pkg/backend/diy/backend.go: Preview (backend.Preview -> apply, DryRun) never
    calls Lock; Update, Refresh, Destroy and Import do (lock.go writes .pulumi/locks/<stack>/*).
    So the preview role needs no write, and must have none: it could delete a deploy's lock."""
    preview = _principal(run, "github-preview")
    lock = f"{_bucket(run)}/staging/.pulumi/locks/organization/platform/staging/x.json"
    assert not preview.allows("s3:PutObject", lock)
    assert not preview.allows("s3:DeleteObject", lock)


def test_preview_reads_only_the_preview_stacks_state_and_keys(run):
    preview = _principal(run, "github-preview", read_only=True)
    bucket = _bucket(run)
    key = {
        env: run.one("aws:kms/key:Key", f"github-{env}-secrets-key").outputs["arn"] for env in ENVIRONMENTS
    }
    assert preview.allows("s3:GetObject", f"{bucket}/staging/.pulumi/stacks/platform/staging.json")
    assert preview.allows("kms:Decrypt", key["staging"])
    for env in ("prod-commercial", "prod-precommercial"):
        assert not preview.allows("s3:GetObject", f"{bucket}/{env}/.pulumi/stacks/platform/{env}.json")
        assert not preview.allows("kms:Decrypt", key[env])
        assert not preview.allows("s3:ListBucket", bucket, {"s3:prefix": f"{env}/.pulumi/stacks/"})
    assert preview.allows("s3:ListBucket", bucket, {"s3:prefix": "staging/.pulumi/stacks/"})
    # The bucket key decrypts state objects only through S3, which applies the object denial.
    bucket_key = run.one("aws:kms/key:Key", "github-state-key").outputs["arn"]
    assert not preview.allows("kms:Decrypt", bucket_key)
    assert preview.allows("kms:Decrypt", bucket_key, {"kms:ViaService": "s3.ap-northeast-1.amazonaws.com"})
    assert not preview.allows(
        "ssm:GetParameter", "arn:aws:ssm:ap-northeast-1:123456789012:parameter/platform/staging/DATABASE_URL"
    )


def test_preview_without_state_backend_may_read_no_object_at_all():
    run = _run({"bootstrap:stateBackend": False})
    statements = {s["Sid"]: s for s in _inline(run, "github-preview-limits")}
    assert statements["NoObjectReadsOutsideThePreviewState"]["Resource"] == "*"
    assert statements["NoDecryptOutsideThePreviewKeys"]["Resource"] == "*"
    assert not run.of_type("aws:s3/bucket:Bucket") and not run.of_type("aws:kms/key:Key")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_deploy_role_manages_iam_only_for_its_own_stack(run, env):
    assert _attached(run, f"github-{env}-deploy") == {"arn:aws:iam::aws:policy/PowerUserAccess"}
    statements = {s["Sid"]: s for s in _inline(run, f"github-{env}-deploy-iam")}
    assert statements["ManageTheStacksRoles"]["Resource"] == f"arn:aws:iam::{ACCOUNT}:role/platform-{env}-*"
    assert (
        statements["ManageTheStacksPolicies"]["Resource"] == f"arn:aws:iam::{ACCOUNT}:policy/platform-{env}-*"
    )
    passing = statements["PassTheStacksRolesToItsServices"]
    assert passing["Resource"] == f"arn:aws:iam::{ACCOUNT}:role/platform-{env}-*"
    assert "ecs-tasks.amazonaws.com" in passing["Condition"]["StringEquals"]["iam:PassedToService"]


# ---------------------------------------------------------------------------------------------
# The escalation paths themselves, evaluated over the captured policy documents (tests/iam_eval.py)

STAGING_ROLE = f"arn:aws:iam::{ACCOUNT}:role/platform-staging-escalate"


def _boundary(run: Run, env: str) -> str:
    return run.one("aws:iam/policy:Policy", f"github-{env}-boundary").outputs["arn"]


def test_the_boundary_is_the_one_each_stack_puts_on_its_roles(run):
    """The program (components/boundary.py) and the bootstrap agree on the boundary's ARN."""
    for env in ("staging", "prod-commercial"):
        program = run_stack(env)
        roles = program.of_type("aws:iam/role:Role")
        assert roles and {r.inputs.get("permissionsBoundary") for r in roles} == {_boundary(run, env)}
        # Every role is named so that its environment's deploy role may manage it.
        assert all(r.outputs["name"].startswith(f"platform-{env}-") for r in roles)


def test_creating_a_role_without_the_boundary_is_denied(run):
    deploy = _principal(run, "github-staging-deploy")
    tags = {"aws:RequestTag/stack": "staging"}
    assert not deploy.allows("iam:CreateRole", STAGING_ROLE, tags)
    assert deploy.allows(
        "iam:CreateRole", STAGING_ROLE, {**tags, "iam:PermissionsBoundary": _boundary(run, "staging")}
    )
    # Another environment's boundary, or another environment's name, does not do either.
    other = _boundary(run, "prod-commercial")
    assert not deploy.allows("iam:CreateRole", STAGING_ROLE, {**tags, "iam:PermissionsBoundary": other})
    prod_role = f"arn:aws:iam::{ACCOUNT}:role/platform-prod-commercial-x"
    assert not deploy.allows(
        "iam:CreateRole", prod_role, {"iam:PermissionsBoundary": _boundary(run, "staging")}
    )


@pytest.mark.parametrize(
    "action", ["iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:PutRolePermissionsBoundary"]
)
def test_widening_a_role_needs_the_boundary_on_it(run, action):
    deploy = _principal(run, "github-staging-deploy")
    policy = {"iam:PolicyARN": f"arn:aws:iam::{ACCOUNT}:policy/platform-staging-x"}
    assert not deploy.allows(action, STAGING_ROLE, policy)
    assert deploy.allows(
        action, STAGING_ROLE, {**policy, "iam:PermissionsBoundary": _boundary(run, "staging")}
    )


def test_a_bounded_role_with_administrator_access_stays_inside_the_boundary(run):
    deploy = _principal(run, "github-staging-deploy")
    bounded = {"iam:PermissionsBoundary": _boundary(run, "staging")}
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    # The deploy role cannot attach it...
    assert not deploy.allows("iam:AttachRolePolicy", STAGING_ROLE, {**bounded, "iam:PolicyARN": admin})
    # ...and an inline `*:*` (which it may put on a bounded role) is cut by the boundary.
    role = Principal(
        [iam_eval.ADMINISTRATOR_ACCESS],
        boundary=_document(run, "aws:iam/policy:Policy", "github-staging-boundary"),
    )
    assert role.allows("ec2:RunInstances", "*", {"aws:RequestTag/stack": "staging"})
    for action, resource in [
        ("iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/platform-staging-y"),
        ("iam:PutRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/platform-github-staging-deploy"),
        ("iam:UpdateAssumeRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/platform-github-prod-commercial-deploy"),
        ("iam:CreateUser", f"arn:aws:iam::{ACCOUNT}:user/x"),
        ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/platform-staging-ecs-task"),
        ("organizations:LeaveOrganization", "*"),
    ]:
        assert not role.allows(action, resource), action
    # Nor can it reach another stack's resources or the bootstrap's keys.
    assert not role.allows(
        "rds:DeleteDBCluster",
        "arn:aws:rds:ap-northeast-1:123456789012:cluster:x",
        {"aws:ResourceTag/stack": "prod-commercial"},
    )
    state_key = run.one("aws:kms/key:Key", "github-state-key").outputs["arn"]
    assert not role.allows("kms:ScheduleKeyDeletion", state_key)


def test_no_boundary_can_be_removed_and_the_bootstrap_cannot_be_changed(run):
    deploy = _principal(run, "github-staging-deploy")
    assert deploy.decide(Request("iam:DeleteRolePermissionsBoundary", STAGING_ROLE)) == "explicit deny"
    for env in ENVIRONMENTS:
        boundary = _boundary(run, env)
        for action in ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy"):
            assert deploy.decide(Request(action, boundary)) == "explicit deny", (env, action)
        own = f"arn:aws:iam::{ACCOUNT}:role/platform-github-{env}-deploy"
        for action in (
            "iam:PutRolePolicy",
            "iam:UpdateAssumeRolePolicy",
            "iam:AttachRolePolicy",
            "iam:DeleteRole",
        ):
            assert (
                deploy.decide(Request(action, own, {"iam:PermissionsBoundary": _boundary(run, "staging")}))
                == "explicit deny"
            )
    preview = f"arn:aws:iam::{ACCOUNT}:role/platform-github-preview"
    assert deploy.decide(Request("iam:UpdateAssumeRolePolicy", preview)) == "explicit deny"


def test_pass_role_only_of_the_stacks_bounded_roles_to_its_services(run):
    deploy = _principal(run, "github-staging-deploy")
    ecs = {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    assert deploy.allows("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/platform-staging-ecs-task", ecs)
    assert not deploy.allows(
        "iam:PassRole",
        f"arn:aws:iam::{ACCOUNT}:role/platform-staging-ecs-task",
        {"iam:PassedToService": "ec2.amazonaws.com"},
    )
    for role in (
        "platform-prod-commercial-ecs-task",  # another environment's
        "platform-github-prod-commercial-deploy",  # a bootstrap role
        "platform-github-staging-deploy",
        "admin",
    ):
        assert not deploy.allows("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/{role}", ecs), role


def test_a_deploy_role_cannot_touch_another_stacks_resources(run):
    deploy = _principal(run, "github-staging-deploy")
    cluster = "arn:aws:rds:ap-northeast-1:123456789012:cluster:platform-prod-commercial-db"
    assert not deploy.allows("rds:DeleteDBCluster", cluster, {"aws:ResourceTag/stack": "prod-commercial"})
    assert deploy.allows(
        "rds:DeleteDBCluster",
        cluster.replace("prod-commercial", "staging"),
        {"aws:ResourceTag/stack": "staging"},
    )
    assert not deploy.allows(
        "ec2:CreateTags",
        "arn:aws:ec2:ap-northeast-1:123456789012:vpc/vpc-1",
        {"aws:RequestTag/stack": "prod-commercial"},
    )
    # Its own stack's state only, and never the bucket's settings (the bucket policy).
    bucket = _bucket(run)
    assert deploy.allows(
        "s3:PutObject",
        f"{bucket}/staging/.pulumi/stacks/platform/staging.json",
        _as(run, "github-staging-deploy"),
    )
    assert not deploy.allows(
        "s3:PutObject",
        f"{bucket}/prod-commercial/.pulumi/stacks/platform/prod-commercial.json",
        _as(run, "github-staging-deploy"),
    )
    assert not deploy.allows("s3:PutBucketPolicy", bucket, _as(run, "github-staging-deploy"))
    # Another environment's secrets key is tagged as that stack.
    prod_key = run.one("aws:kms/key:Key", "github-prod-commercial-secrets-key")
    assert prod_key["tags"] == {"stack": "prod-commercial"}
    assert not deploy.allows(
        "kms:Decrypt", prod_key.outputs["arn"], {"aws:ResourceTag/stack": "prod-commercial"}
    )
    own_key = run.one("aws:kms/key:Key", "github-staging-secrets-key").outputs["arn"]
    assert deploy.allows("kms:Decrypt", own_key, {"aws:ResourceTag/stack": "staging"})
    assert not deploy.allows("kms:ScheduleKeyDeletion", own_key, {"aws:ResourceTag/stack": "staging"})


def test_state_bucket_is_versioned_encrypted_private_and_tls_only(run):
    bucket = run.one("aws:s3/bucket:Bucket", "github-state")
    key = run.one("aws:kms/key:Key", "github-state-key")
    # Losing them loses every stack's state or secrets.
    assert bucket.protect and all(k.protect for k in run.of_type("aws:kms/key:Key"))
    assert key["enableKeyRotation"] is True
    assert all(k["enableKeyRotation"] for k in run.of_type("aws:kms/key:Key"))
    versioning = run.one("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning["versioningConfiguration"]["status"] == "Enabled"
    [rule] = run.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "aws:kms",
        "kmsMasterKeyId": key.outputs["arn"],
    }
    ownership = run.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert ownership["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    for resource_type in (
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketPolicy:BucketPolicy",
    ):
        resource = run.one(resource_type)
        assert bucket.urn in resource.dependencies


def test_the_guardrails_pass_on_the_bootstrap(run):
    everything = [
        rules.StackResource(r.urn, r.type, r.plain_inputs, frozenset(r.dependencies)) for r in run.resources
    ]
    problems = [
        f"{rule.name} on {r.name}: {m}"
        for r in run.resources
        for rule in rules.RULES
        if rule.check is not None and rule.needs == "props"
        for m in rule.evaluate(r.type, r.plain_inputs, "production")
    ]
    problems += [
        f"{rule.name}: {m}"
        for rule in rules.RULES
        if rule.stack_check
        for _, m in rule.stack_check(everything, "production")
    ]
    # A permissions boundary caps, it grants nothing: its broad Allow is the point of it.
    boundaries = {r.name for r in run.of_type("aws:iam/policy:Policy") if r.name.endswith("-boundary")}
    assert len(boundaries) == len(ENVIRONMENTS)
    assert [
        p for p in problems if not any(p.startswith(f"iam-no-wildcard-admin on {b}:") for b in boundaries)
    ] == []


def test_exports_the_values_for_the_github_variables(run):
    assert run.output("AWS_PREVIEW_ROLE_ARN").endswith(":role/platform-github-preview")
    backends = run.output("PULUMI_BACKEND_URL")
    assert backends == {env: f"s3://platform-pulumi-state-{ACCOUNT}/{env}" for env in ENVIRONMENTS}
    providers = run.output("secretsProviders")
    assert providers["staging"] == "awskms://alias/platform-pulumi-staging?region=ap-northeast-1"


def test_existing_provider_is_reused():
    arn = f"arn:aws:iam::123456789012:oidc-provider/{ISSUER}"
    run = _run({"bootstrap:existingOidcProviderArn": arn})
    assert not run.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert _trust(run, "github-staging-deploy")["Principal"] == {"Federated": arn}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({}, "bootstrap:githubRepository: required"),
        (
            {"githubRepository": "platform"},
            "bootstrap:githubRepository: must be the GitHub repository as owner/name",
        ),
        ({"githubRepository": "a/b", "environmnets": ["x"]}, "bootstrap:environmnets: unknown key"),
        ({"githubRepository": "a/b", "environments": ["prod commercial"]}, "bootstrap:environments.0:"),
        ({"githubRepository": "a/b", "environments": []}, "environments must name at least one"),
        ({"githubRepository": "a/b", "environments": ["prod", "prod-commercial"]}, "would also match"),
        ({"githubRepository": "a/b", "environments": ["github"]}, "overlap the bootstrap's roles"),
        (
            {"githubRepository": "a/b", "previewStacks": ["dev"]},
            "previewStacks ['dev'] are not in environments",
        ),
        ({"githubRepository": "a/b", "previewEnvironment": "staging"}, "is also a deploy environment"),
    ],
)
def test_bad_settings_are_explained(raw, expected):
    with pytest.raises(bootstrap_settings.BootstrapSettingsError) as error:
        bootstrap_settings.parse_settings(raw)
    assert expected in str(error.value)


def test_bad_stack_config_fails_before_any_resource():
    with pytest.raises(bootstrap_settings.BootstrapSettingsError):
        _run({"bootstrap:githubRepository": "not a repository"})


def test_a_stack_may_name_its_boundary_and_a_bad_one_is_refused_before_any_resource():
    arn = "arn:aws:iam::210987654321:policy/custom-boundary"
    program = run_stack("staging", {"platform:security": {"permissionsBoundary": arn}}, iam_policies=[arn])
    assert {r.inputs.get("permissionsBoundary") for r in program.of_type("aws:iam/role:Role")} == {arn}
    named = run_stack(
        "staging",
        {"platform:security": {"permissionsBoundary": "team-boundary"}},
        iam_policies=[f"arn:aws:iam::{ACCOUNT}:policy/team-boundary"],
    )
    assert {r.inputs.get("permissionsBoundary") for r in named.of_type("aws:iam/role:Role")} == {
        f"arn:aws:iam::{ACCOUNT}:policy/team-boundary"
    }
    with pytest.raises(SettingsError, match=r"platform:security\.permissionsBoundary: .*'not a policy'"):
        run_stack("staging", {"platform:security": {"permissionsBoundary": "not a policy"}})
    assert last_run().resources == []


def test_the_deploy_role_creates_the_backup_writer_only_with_its_boundary(run):
    # The pre-commercial backup job's IAM user (components/backup.py); the `iam:PermissionsBoundary`
    # key holds the user's boundary on CreateUser and PutUserPolicy (IAM User Guide,
    # access_policies_boundaries.html, "Delegating responsibility to others").
    deploy = _principal(run, "github-prod-precommercial-deploy")
    writer = f"arn:aws:iam::{ACCOUNT}:user/platform-prod-precommercial-backup-writer"
    bounded = {"iam:PermissionsBoundary": _boundary(run, "prod-precommercial")}
    assert deploy.allows("iam:CreateUser", writer, bounded)
    assert deploy.allows("iam:PutUserPolicy", writer, bounded)
    assert deploy.allows("iam:CreateAccessKey", writer)
    assert not deploy.allows("iam:CreateUser", writer)
    assert not deploy.allows("iam:CreateUser", writer, {"iam:PermissionsBoundary": _boundary(run, "staging")})
    other = f"arn:aws:iam::{ACCOUNT}:user/platform-prod-commercial-x"
    assert not deploy.allows("iam:CreateAccessKey", other)
    assert deploy.decide(Request("iam:DeleteUserPermissionsBoundary", writer)) == "explicit deny"
