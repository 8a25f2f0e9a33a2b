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


ALERT = "sentry:index/sentryIssueAlert:SentryIssueAlert"
# Rule ids from Sentry's rules registry (getsentry/sentry src/sentry/rules/conditions/ and
# src/sentry/mail/actions.py), as the provider's documentation lists them.
FIRST_SEEN = "sentry.rules.conditions.first_seen_event.FirstSeenEventCondition"
REGRESSION = "sentry.rules.conditions.regression_event.RegressionEventCondition"
FREQUENCY = "sentry.rules.conditions.event_frequency.EventFrequencyCondition"
EMAIL = "sentry.mail.actions.NotifyEmailAction"


def _team_id(run: Run) -> str:
    """What the provider's team data source answered for the settings' team (from the invoke)."""
    from pulumi.runtime import MockCallArgs

    from tools.mocks import RecordingMocks

    [(_, inputs)] = [i for i in run.invokes if i[0] == "sentry:index/getSentryTeam:getSentryTeam"][:1]
    answer, _ = RecordingMocks().call(MockCallArgs("sentry:index/getSentryTeam:getSentryTeam", inputs, ""))
    return answer["internalId"]


def test_each_project_alerts_its_team_on_new_issues_regressions_and_spikes(run: Run) -> None:
    alerts = run.of_type(ALERT)
    by_project: dict[str, list] = {}
    for alert in alerts:
        by_project.setdefault(alert["project"], []).append(alert)
    assert set(by_project) == {"platform-prod-api", "platform-prod-web"}
    team_id = _team_id(run)
    for project_alerts in by_project.values():
        conditions = sorted(a["conditions"][0]["id"] for a in project_alerts)
        assert conditions == sorted([FIRST_SEEN, REGRESSION, FREQUENCY])
        for alert in project_alerts:
            assert alert["organization"] == "acme"
            # Routed to the owning team's members by e-mail, by the team's numeric id.
            assert alert["actions"] == [{"id": EMAIL, "targetType": "Team", "targetIdentifier": team_id}]
            assert alert["frequency"] == 30 and alert["actionMatch"] == "any"
            # No "name" inside a condition or action: the provider says to omit it since v0.11.2.
            assert all("name" not in item for item in alert["conditions"] + alert["actions"])
    [spike] = [a for a in by_project["platform-prod-api"] if a["conditions"][0]["id"] == FREQUENCY]
    assert spike["conditions"][0] == {
        "id": FREQUENCY,
        "value": "100",
        "comparisonType": "count",
        "interval": "1h",
    }


def test_alerts_follow_the_settings() -> None:
    run = _run(
        SentrySettings(organization="acme", team="backend", spikeEventsPerHour=500, alertFrequencyMinutes=60)
    )
    spikes = [a for a in run.of_type(ALERT) if a["conditions"][0]["id"] == FREQUENCY]
    assert {a["conditions"][0]["value"] for a in spikes} == {"500"}
    assert {a["frequency"] for a in run.of_type(ALERT)} == {60}
    quiet = _run(SentrySettings(organization="acme", team="backend", alerts=False))
    assert quiet.of_type(ALERT) == [] and len(quiet.of_type(PROJECT)) == 2


@pytest.mark.parametrize(
    ("stack", "environment"),
    [("prod-commercial", "production"), ("prod-precommercial", "production"), ("staging", None)],
)
def test_production_stacks_alert_on_production_events_only(stack: str, environment: str | None) -> None:
    from tests.conftest import committed_run

    alerts = committed_run(stack).of_type(ALERT)
    assert alerts, "every stack with Sentry alerts its team"
    assert {a.get("environment") for a in alerts} == {environment}
