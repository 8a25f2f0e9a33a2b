"""The Supabase dynamic provider against a local fake of the Management API over real HTTP."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import textwrap
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path

import dill
import pytest
from pulumi.dynamic.dynamic import serialize_provider

from components.platforms.supabase import (
    API_URL_ENV,
    TOKEN_ENV,
    USER_AGENT,
    SupabaseApiError,
    SupabaseProjectProvider,
    pooled_connection_string,
)
from tests.fake_supabase import FakeSupabase

PASSWORD = "s3cret/with:odd@chars"
INPUTS = {
    "name": "platform",
    "organization": "acme",
    "region": "ap-northeast-1",
    "plan": "free",
    "pool_mode": "session",
    "db_pass": PASSWORD,
}


@pytest.fixture
def fake(monkeypatch):
    server = FakeSupabase().start()
    monkeypatch.setenv(API_URL_ENV, server.url)
    monkeypatch.setenv(TOKEN_ENV, server.token)
    yield server
    server.stop()


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def provider(sleeps) -> SupabaseProjectProvider:
    return SupabaseProjectProvider(
        sleep=sleeps,
        max_attempts=4,
        max_backoff_seconds=8,
        provision_timeout_seconds=50,
        poll_interval_seconds=10,
    )


# -- create ---------------------------------------------------------------------------------


def test_create_waits_until_healthy_and_returns_a_pooled_tls_url(fake, provider, sleeps):
    fake.provisioning_polls = 3

    result = provider.create(dict(INPUTS))

    assert list(fake.projects) == [result.id]
    [post] = fake.calls("POST", "/v1/projects")
    assert post.body["organization_slug"] == "acme"
    assert post.body["region_selection"] == {"type": "specific", "code": "ap-northeast-1"}
    assert post.body["db_pass"] == PASSWORD
    assert all(r.authorization == f"Bearer {fake.token}" for r in fake.requests)
    assert {r.user_agent for r in fake.requests} == {USER_AGENT}  # not urllib's anonymous default
    assert result.outs["status"] == "ACTIVE_HEALTHY"
    assert sleeps == [10, 10, 10]  # one poll interval per COMING_UP answer

    url = urllib.parse.urlsplit(result.outs["pooled_connection_string"])
    assert url.scheme == "postgresql"
    assert url.hostname == "aws-0-ap-northeast-1.pooler.supabase.com"
    assert url.port == 5432  # session mode for a long-running server
    assert url.username == f"postgres.{result.id}"
    assert urllib.parse.unquote(url.password) == PASSWORD
    # Supabase's documented verified form (supabase.com/docs/guides/database/psql).
    assert urllib.parse.parse_qs(url.query) == {
        "sslmode": ["verify-full"],
        "sslrootcert": ["certs/supabase-prod-ca-2021.crt"],
    }


@pytest.mark.parametrize("db_user", ["postgres", "postgres.{ref}"], ids=["bare", "qualified"])
def test_pooler_user_names_the_project_as_supavisor_requires(db_user):
    ref = "abcdefghijklmnopqrst"
    pooler = {"db_user": db_user.format(ref=ref), "db_host": "aws-0-ap-southeast-1.pooler.supabase.com"}

    url = urllib.parse.urlsplit(pooled_connection_string(pooler, ref, PASSWORD, "session"))

    assert url.username == f"postgres.{ref}"


def test_create_uses_transaction_port_when_asked_and_keeps_a_session_url_for_dumps(fake, provider):
    # Supavisor: 5432 session, 6543 transaction on the same pooler host
    # (https://supabase.com/docs/guides/database/connecting-to-postgres); pg_dump needs session.
    result = provider.create({**INPUTS, "pool_mode": "transaction"})

    assert urllib.parse.urlsplit(result.outs["pooled_connection_string"]).port == 6543
    session = urllib.parse.urlsplit(result.outs["session_connection_string"])
    assert session.port == 5432 and urllib.parse.unquote(session.password) == PASSWORD


def test_create_retries_429_honouring_retry_after(fake, provider, sleeps):
    fake.throttle(2, retry_after="3")

    result = provider.create(dict(INPUTS))

    assert result.outs["status"] == "ACTIVE_HEALTHY"
    assert sleeps[:2] == [3.0, 3.0]
    assert len(fake.calls("POST", "/v1/projects")) == 1
    assert len(fake.projects) == 1


@pytest.mark.parametrize("header", ["retry-after", "RETRY-AFTER"])
def test_retry_after_is_read_whatever_its_case(fake, provider, sleeps, header):
    # Field names are case-insensitive (RFC 9110 section 5.1); HTTP/2 front ends send lower case.
    fake.throttle(1, retry_after="5", header=header)

    provider.create(dict(INPUTS))

    assert sleeps[0] == 5.0


def test_persistent_429_gives_up_after_bounded_attempts(fake, provider, sleeps):
    fake.throttle(100, retry_after="600")

    with pytest.raises(SupabaseApiError, match=r"still failing after 4 attempts \(HTTP 429"):
        provider.create(dict(INPUTS))

    assert len(fake.requests) == 4
    assert sleeps == [8, 8, 8]  # Retry-After is capped by max_backoff_seconds: the wait stays bounded
    assert fake.projects == {}


def test_401_is_a_clear_error_and_not_retried(fake, provider):
    fake.token = "another-token"

    with pytest.raises(SupabaseApiError, match=f"refused the access token.*{TOKEN_ENV}") as error:
        provider.create(dict(INPUTS))

    assert error.value.status == 401
    assert len(fake.requests) == 1
    assert fake.projects == {}


def test_missing_token_fails_before_any_request(fake, provider, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV)

    with pytest.raises(SupabaseApiError, match=f"{TOKEN_ENV} is not set"):
        provider.create(dict(INPUTS))

    assert fake.requests == []


def test_post_is_not_retried_on_5xx_so_no_duplicate_project_can_appear(fake, provider):
    fake.fail(1, 502, method="POST")

    with pytest.raises(SupabaseApiError, match="HTTP 502"):
        provider.create(dict(INPUTS))

    assert len(fake.calls("POST", "/v1/projects")) == 1


def test_organisation_on_another_plan_is_refused_before_creating(fake, provider):
    fake.organizations["acme"] = {"plan": "pro"}

    with pytest.raises(SupabaseApiError, match=r"'pro' plan but platform:supabase\.plan is 'free'"):
        provider.create(dict(INPUTS))

    assert fake.calls("POST") == []


def test_unknown_organisation_names_the_setting(fake, provider):
    with pytest.raises(SupabaseApiError, match=r"'nobody' does not exist.*organizationId"):
        provider.create({**INPUTS, "organization": "nobody"})
    assert fake.calls("POST") == []


def test_provisioning_timeout_keeps_the_project_and_the_next_run_adopts_it(fake, provider, sleeps):
    fake.provisioning_polls = 7  # more than 50 s / 10 s polls

    with pytest.raises(SupabaseApiError, match=r"still COMING_UP after 50 s\. It is kept") as error:
        provider.create(dict(INPUTS))

    [ref] = fake.projects
    assert ref in str(error.value)
    assert len(sleeps) == 4  # bounded: 5 polls, 4 waits between them

    result = provider.create(dict(INPUTS))  # the next `pulumi up`

    assert result.id == ref
    assert len(fake.calls("POST", "/v1/projects")) == 1
    assert result.outs["status"] == "ACTIVE_HEALTHY"


def test_failed_provisioning_is_reported_and_the_project_kept(fake, provider):
    fake.provisioning_polls = 1
    fake.final_status = "INIT_FAILED"

    with pytest.raises(SupabaseApiError, match="failed to provision \\(INIT_FAILED\\)"):
        provider.create(dict(INPUTS))
    assert len(fake.projects) == 1

    with pytest.raises(SupabaseApiError, match="INIT_FAILED: it will not become healthy"):
        provider.create(dict(INPUTS))
    assert len(fake.calls("POST", "/v1/projects")) == 1


def test_a_same_named_project_in_another_region_is_not_adopted(fake, provider):
    ref = fake.add_project("platform", "acme", region="us-east-1", created_at=_now_iso())

    with pytest.raises(SupabaseApiError, match=rf"named 'platform' \({ref}\) in us-east-1.*ap-northeast-1"):
        provider.create(dict(INPUTS))
    assert fake.calls("POST") == []


def test_a_same_named_project_in_another_organisation_is_ignored(fake, provider):
    fake.organizations["other"] = {"plan": "free"}
    other = fake.add_project("platform", "other", created_at=_now_iso())

    result = provider.create(dict(INPUTS))

    assert result.id != other and len(fake.calls("POST", "/v1/projects")) == 1


def test_an_older_same_named_project_is_not_adopted_since_its_password_is_not_the_stacks(fake, provider):
    # Made by hand (or another stack) long before: its password is not the stack's RandomPassword,
    # so adopting it would hand the API a connection string that cannot log in.
    ref = fake.add_project("platform", "acme", created_at="2025-01-01T00:00:00Z", password="someone-elses")

    with pytest.raises(
        SupabaseApiError, match=rf"\({ref}, created 2025-01-01.*not this stack's.*projectName"
    ):
        provider.create(dict(INPUTS))
    assert fake.calls("POST") == []


def test_the_adoption_window_is_a_setting_of_the_provider(fake, sleeps):
    fake.add_project("platform", "acme", created_at=_now_iso(), password=PASSWORD)
    strict = SupabaseProjectProvider(sleep=sleeps, adopt_window_seconds=-1)

    with pytest.raises(SupabaseApiError, match="older than an interrupted create"):
        strict.create(dict(INPUTS))


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


def test_two_projects_with_the_same_name_are_not_guessed_between(fake, provider):
    fake.add_project("platform", "acme")
    fake.add_project("platform", "acme")

    with pytest.raises(SupabaseApiError, match="has 2 projects named 'platform'"):
        provider.create(dict(INPUTS))
    assert fake.calls("POST") == []


# -- read -----------------------------------------------------------------------------------


@pytest.fixture
def created(fake, provider):
    return provider.create(dict(INPUTS))


def test_read_refreshes_state_and_reports_drift(fake, provider, created):
    fake.projects[created.id]["name"] = "renamed-in-dashboard"

    result = provider.read(created.id, dict(created.outs))

    assert result.id == created.id
    assert result.outs["name"] == "renamed-in-dashboard"
    assert result.outs["pooled_connection_string"] == created.outs["pooled_connection_string"]
    assert provider.diff(created.id, result.outs, dict(INPUTS)).changes is True


def test_read_of_a_paused_project_keeps_the_connection_string(fake, provider, created):
    fake.projects[created.id]["status"] = "INACTIVE"

    result = provider.read(created.id, dict(created.outs))

    assert result.outs["status"] == "INACTIVE"
    assert result.outs["pooled_connection_string"] == created.outs["pooled_connection_string"]


def test_read_for_an_import_fills_organisation_and_region_from_the_api(fake, provider):
    # `pulumi import` calls read with the id and no inputs; what the project is must come from
    # the API, or the first diff would compare the program with nothing.
    ref = fake.add_project("platform", "acme", region="ap-southeast-1")

    result = provider.read(ref, {})

    assert result.outs["organization"] == "acme"
    assert result.outs["organization_id"] == "id-acme"
    assert result.outs["region"] == "ap-southeast-1"
    same = provider.diff(ref, result.outs, {**INPUTS, "region": "ap-southeast-1"})
    assert same.replaces == []
    moved = provider.diff(ref, result.outs, dict(INPUTS))  # the program asks for ap-northeast-1
    assert moved.replaces == ["region"]


def test_an_organisation_recorded_by_id_matches_its_slug(provider):
    olds = {**INPUTS, "organization": "id-acme", "organization_id": "id-acme"}
    assert provider.diff("ref", olds, {**INPUTS, "organization": "id-acme"}).replaces == []
    assert provider.diff("ref", olds, {**INPUTS, "organization": "other"}).replaces == ["organization"]


def test_read_404_means_the_project_is_gone(fake, provider, created):
    del fake.projects[created.id]

    result = provider.read(created.id, dict(created.outs))

    assert result.id == ""
    assert result.outs == {}


def test_read_surfaces_server_errors_after_retrying(fake, provider, created, sleeps):
    fake.fail(10, 503)

    with pytest.raises(SupabaseApiError, match="HTTP 503"):
        provider.read(created.id, dict(created.outs))
    assert created.id in fake.projects


# -- diff and update ------------------------------------------------------------------------


def test_diff_replaces_on_region_or_organisation_and_updates_name_in_place(provider, created):
    olds = dict(created.outs)

    assert provider.diff(created.id, olds, dict(INPUTS)).changes is False
    region = provider.diff(created.id, olds, {**INPUTS, "region": "us-east-1"})
    assert region.changes and region.replaces == ["region"]
    org = provider.diff(created.id, olds, {**INPUTS, "organization": "other"})
    assert org.replaces == ["organization"]
    renamed = provider.diff(created.id, olds, {**INPUTS, "name": "platform-prod"})
    assert renamed.changes and renamed.replaces == []
    # Pulumi never rotates the password behind the application's back.
    assert provider.diff(created.id, olds, {**INPUTS, "db_pass": "other"}).changes is False


def test_update_renames_in_place_and_keeps_the_connection_string(fake, provider, created):
    news = {**INPUTS, "name": "platform-prod"}

    result = provider.update(created.id, dict(created.outs), news)

    [patch] = fake.calls("PATCH")
    assert patch.path == f"/v1/projects/{created.id}" and patch.body == {"name": "platform-prod"}
    assert fake.projects[created.id]["name"] == "platform-prod"
    assert result.outs["name"] == "platform-prod"
    assert result.outs["pooled_connection_string"] == created.outs["pooled_connection_string"]
    assert fake.calls("DELETE") == [] and len(fake.calls("POST", "/v1/projects")) == 1


def test_update_of_a_vanished_project_is_an_error_not_a_recreate(fake, provider, created):
    del fake.projects[created.id]

    with pytest.raises(SupabaseApiError, match="404"):
        provider.update(created.id, dict(created.outs), {**INPUTS, "name": "x"})
    assert len(fake.calls("POST", "/v1/projects")) == 1


# -- delete ---------------------------------------------------------------------------------


def test_delete_deletes_and_tolerates_already_gone(fake, provider, created):
    provider.delete(created.id, dict(created.outs))
    assert fake.projects == {}

    provider.delete(created.id, dict(created.outs))  # a second delete: 404 is success
    assert len(fake.calls("DELETE")) == 2


def test_delete_retries_server_errors_then_fails_clearly(fake, provider, created):
    fake.fail(2, 500)
    provider.delete(created.id, dict(created.outs))
    assert fake.projects == {}

    ref = fake.add_project("other", "acme")
    fake.fail(10, 500)
    with pytest.raises(SupabaseApiError, match="still failing after 4 attempts"):
        provider.delete(ref, {})
    assert ref in fake.projects


# -- serialization --------------------------------------------------------------------------


def test_the_provider_is_pickled_by_reference_and_runs_in_a_fresh_process(fake):
    # The engine stores the provider as dill.dumps(provider, recurse=True) (pulumi
    # sdk/python/lib/pulumi/dynamic/dynamic.py, serialize_provider) and a separate provider
    # process unpickles and calls it (dynamic/__main__.py, get_provider). A class in an importable
    # module is pickled as its module path and name: the blob names this module and holds no code,
    # so renaming the module breaks reads and deletes of stacks that stored the old path.
    blob = serialize_provider(
        SupabaseProjectProvider(provision_timeout_seconds=5, poll_interval_seconds=0.01)
    )
    raw = base64.b64decode(blob)
    assert b"components.platforms.supabase" in raw and b"SupabaseProjectProvider" in raw
    assert b"_adoptable_project" not in raw and len(raw) < 1000  # no method bodies by value

    script = textwrap.dedent(
        """
        import base64, json, sys
        import dill
        provider = dill.loads(base64.b64decode(sys.stdin.read()))
        result = provider.create(json.loads(sys.argv[1]))
        print(json.dumps({"id": result.id, "status": result.outs["status"], "module": type(provider).__module__}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(INPUTS)],
        input=blob,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],  # the engine runs the provider from the program's directory
        env={"PATH": "", API_URL_ENV: fake.url, TOKEN_ENV: fake.token, "PYTHONPATH": "."},
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer == {
        "id": answer["id"],
        "status": "ACTIVE_HEALTHY",
        "module": "components.platforms.supabase",
    }
    assert list(fake.projects) == [answer["id"]]


def test_a_state_whose_provider_names_a_moved_module_cannot_be_unpickled():
    # What renaming the module does to a stack that stored the old path: read and delete
    # unpickle the state's provider (dynamic/__main__.py Read/Delete use the old properties).
    raw = base64.b64decode(serialize_provider(SupabaseProjectProvider()))
    moved = raw.replace(b"components.platforms.supabase", b"components.platforms.supabasx")  # same length

    with pytest.raises(ModuleNotFoundError, match="supabasx"):
        dill.loads(moved)
