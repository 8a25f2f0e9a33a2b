"""SentryProjects under mocks: projects, client keys and secret DSNs."""

from __future__ import annotations

import pulumi
import pytest

from components.sentry import SentryProjects, SentryProjectsArgs
from components.settings import SentrySettings
from tools.harness import Run, run_stack
from tools.mocks import Secret

CONFIG = {"aws:region": "ap-northeast-1", "platform:topology": "commercial"}
PROJECTS = {"api": "node-nestjs", "web": "javascript-nextjs"}
PROJECT = "sentry:index/sentryProject:SentryProject"
KEY = "sentry:index/sentryKey:SentryKey"


def _run(settings: SentrySettings, projects=PROJECTS, name_prefix: str = "platform-prod") -> Run:
    def program() -> None:
        sentry = SentryProjects(
            "sentry", SentryProjectsArgs(settings=settings, name_prefix=name_prefix, projects=projects)
        )
        # Exported one by one, so each DSN's own secret-ness reaches the stack outputs.
        for short, dsn in sentry.dsns.items():
            pulumi.export(f"dsn-{short}", dsn)
        for short, slug in sentry.project_slugs.items():
            pulumi.export(f"slug-{short}", slug)

    return run_stack("test", config=CONFIG, program=program)


@pytest.fixture(scope="module")
def run() -> Run:
    return _run(SentrySettings(organization="acme", team="backend"))


def test_one_project_per_entry_owned_by_the_team(run: Run) -> None:
    projects = {p["slug"]: p for p in run.of_type(PROJECT)}
    assert set(projects) == {"platform-prod-api", "platform-prod-web"}
    for short, platform in PROJECTS.items():
        project = projects[f"platform-prod-{short}"]
        assert project["organization"] == "acme"
        assert project["teams"] == ["backend"]
        assert project["name"] == f"platform-prod-{short}"
        assert project["platform"] == platform
        assert "team" not in project.plain_inputs  # deprecated single-team argument


def test_each_project_gets_its_own_rate_limited_key(run: Run) -> None:
    keys = run.of_type(KEY)
    assert sorted(k["project"] for k in keys) == ["platform-prod-api", "platform-prod-web"]
    for key in keys:
        assert key["organization"] == "acme"
        assert key["rateLimitCount"] > 0 and key["rateLimitWindow"] > 0


def test_dsns_are_secret_outputs(run: Run) -> None:
    for short in PROJECTS:
        dsn = run.outputs[f"dsn-{short}"]
        assert isinstance(dsn, Secret)
        assert dsn.value.startswith("https://") and ".ingest.sentry.io/" in dsn.value
        assert run.outputs[f"slug-{short}"] == f"platform-prod-{short}"


def test_disabled_creates_nothing() -> None:
    run = _run(SentrySettings(enabled=False))
    assert run.of_type(PROJECT) == [] and run.of_type(KEY) == []
    assert not any(name.startswith("dsn-") for name in run.outputs)


def test_slug_too_long_for_sentry_is_refused() -> None:
    with pytest.raises(Exception, match="slug"):
        _run(SentrySettings(), projects={"api": "node"}, name_prefix="platform-" + "x" * 45)
