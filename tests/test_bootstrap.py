"""bootstrap/: GitHub OIDC trust scoped to this repository's pull requests (preview) and to its main
branch and protected environments (deploy), least privilege, and a locked-down state backend."""

from __future__ import annotations

import json
import runpy
import sys
from typing import Any

import pytest

from tools.harness import ROOT_DIR, Run, run_stack, stack_config

BOOTSTRAP = ROOT_DIR / "bootstrap"
PROJECT = "platform-bootstrap"
ISSUER = "token.actions.githubusercontent.com"

# Pulumi runs bootstrap/__main__.py and the policy pack with their directories on sys.path; so do
# the tests.
sys.path[:0] = [str(BOOTSTRAP), str(ROOT_DIR / "policy")]
import bootstrap_settings  # noqa: E402
import rules  # noqa: E402


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


def test_preview_role_trusts_only_this_repositorys_pull_requests(run, repository):
    statement = _trust(run, "github-preview")
    provider = run.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert statement["Principal"] == {"Federated": provider.outputs["arn"]}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            f"{ISSUER}:aud": "sts.amazonaws.com",
            f"{ISSUER}:sub": [f"repo:{repository}:pull_request"],
        }
    }


def test_deploy_role_trusts_only_main_and_the_protected_environments(run, repository):
    conditions = _trust(run, "github-deploy")["Condition"]
    assert set(conditions) == {"StringEquals"}  # exact subjects: no wildcard, no other branch
    subjects = conditions["StringEquals"][f"{ISSUER}:sub"]
    assert sorted(subjects) == sorted(
        [
            f"repo:{repository}:ref:refs/heads/main",
            f"repo:{repository}:environment:prod-precommercial",
            f"repo:{repository}:environment:prod-commercial",
        ]
    )
    assert conditions["StringEquals"][f"{ISSUER}:aud"] == "sts.amazonaws.com"


def test_production_only_account_trusts_environments_only(repository):
    run = _run({"bootstrap:allowMainBranch": False, "bootstrap:environments": ["prod-commercial"]})
    subjects = _trust(run, "github-deploy")["Condition"]["StringEquals"][f"{ISSUER}:sub"]
    assert subjects == [f"repo:{repository}:environment:prod-commercial"]


def test_preview_role_is_read_only_and_cannot_read_secrets_or_data(run):
    assert _attached(run, "github-preview") == {"arn:aws:iam::aws:policy/ReadOnlyAccess"}
    statements = _inline(run, "github-preview-limits")
    denied = {a for s in statements if s["Effect"] == "Deny" for a in s["Action"]}
    assert {"ssm:GetParameter", "ssm:GetParameters", "secretsmanager:GetSecretValue", "kms:Decrypt"} <= denied
    assert {"s3:GetObject", "logs:GetLogEvents"} <= denied
    allowed = [a for s in statements if s["Effect"] == "Allow" for a in s["Action"]]
    assert all(a.startswith(("s3:PutObject", "s3:DeleteObject", "kms:Decrypt")) for a in allowed)


def test_preview_role_reaches_only_the_state_through_its_exceptions(run):
    bucket = run.one("aws:s3/bucket:Bucket", "github-state").outputs["arn"]
    key = run.one("aws:kms/key:Key", "github-state-key").outputs["arn"]
    statements = {s["Sid"]: s for s in _inline(run, "github-preview-limits")}
    assert statements["NoObjectReadsOutsideTheState"]["NotResource"] == f"{bucket}/*"
    assert statements["NoDecryptOutsideTheStateKey"]["NotResource"] == key
    assert statements["TakeTheStateLock"]["Resource"] == f"{bucket}/.pulumi/locks/*"
    assert statements["DecryptStackSecrets"]["Resource"] == key


def test_preview_without_state_backend_may_read_no_object_at_all():
    run = _run({"bootstrap:stateBackend": False})
    statements = {s["Sid"]: s for s in _inline(run, "github-preview-limits")}
    assert statements["NoObjectReadsOutsideTheState"]["Resource"] == "*"
    assert statements["NoDecryptOutsideTheStateKey"]["Resource"] == "*"
    assert not run.of_type("aws:s3/bucket:Bucket") and not run.of_type("aws:kms/key:Key")


def test_deploy_role_manages_iam_only_for_the_programs_roles(run):
    assert _attached(run, "github-deploy") == {"arn:aws:iam::aws:policy/PowerUserAccess"}
    statements = {s["Sid"]: s for s in _inline(run, "github-deploy-iam")}
    account = "123456789012"
    assert sorted(statements["ManageTheProgramsRolesAndPolicies"]["Resource"]) == [
        f"arn:aws:iam::{account}:policy/platform-*",
        f"arn:aws:iam::{account}:role/platform-*",
    ]
    passing = statements["PassTheProgramsRolesToItsServices"]
    assert passing["Resource"] == f"arn:aws:iam::{account}:role/platform-*"
    assert "ecs-tasks.amazonaws.com" in passing["Condition"]["StringEquals"]["iam:PassedToService"]
    assert statements["NeverTouchTheBootstrapRoles"]["Effect"] == "Deny"
    assert (
        statements["NeverTouchTheBootstrapRoles"]["Resource"]
        == f"arn:aws:iam::{account}:role/platform-github-*"
    )
    broad = statements["NeverAttachBroadPolicies"]
    assert broad["Effect"] == "Deny"
    assert "arn:aws:iam::aws:policy/AdministratorAccess" in broad["Condition"]["ArnEquals"]["iam:PolicyARN"]


def test_state_bucket_is_versioned_encrypted_private_and_tls_only(run):
    bucket = run.one("aws:s3/bucket:Bucket", "github-state")
    key = run.one("aws:kms/key:Key", "github-state-key")
    assert bucket.protect and key.protect  # losing them loses every stack's state or secrets
    assert key["enableKeyRotation"] is True
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
    assert problems == []


def test_exports_the_values_for_the_github_variables(run):
    assert run.output("AWS_PREVIEW_ROLE_ARN").endswith(":role/platform-github-preview")
    assert run.output("AWS_DEPLOY_ROLE_ARN").endswith(":role/platform-github-deploy")
    assert run.output("PULUMI_BACKEND_URL").startswith("s3://platform-pulumi-state-")
    assert run.output("secretsProvider").startswith("awskms://")


def test_existing_provider_is_reused():
    arn = f"arn:aws:iam::123456789012:oidc-provider/{ISSUER}"
    run = _run({"bootstrap:existingOidcProviderArn": arn})
    assert not run.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert _trust(run, "github-deploy")["Principal"] == {"Federated": arn}


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
        (
            {"githubRepository": "a/b", "allowMainBranch": False, "environments": []},
            "environments must name at least one",
        ),
    ],
)
def test_bad_settings_are_explained(raw, expected):
    with pytest.raises(bootstrap_settings.BootstrapSettingsError) as error:
        bootstrap_settings.parse_settings(raw)
    assert expected in str(error.value)


def test_bad_stack_config_fails_before_any_resource():
    with pytest.raises(bootstrap_settings.BootstrapSettingsError):
        _run({"bootstrap:githubRepository": "not a repository"})
