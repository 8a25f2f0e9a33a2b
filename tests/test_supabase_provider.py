"""The Supabase dynamic provider against a local fake of the Management API over real HTTP."""

from __future__ import annotations

import urllib.parse

import pytest

from components.platforms.supabase import (
    API_URL_ENV,
    TOKEN_ENV,
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


def test_create_uses_transaction_port_when_asked(fake, provider):
    result = provider.create({**INPUTS, "pool_mode": "transaction"})
    assert urllib.parse.urlsplit(result.outs["pooled_connection_string"]).port == 6543


def test_create_retries_429_honouring_retry_after(fake, provider, sleeps):
    fake.throttle(2, retry_after="3")

    result = provider.create(dict(INPUTS))

    assert result.outs["status"] == "ACTIVE_HEALTHY"
    assert sleeps[:2] == [3.0, 3.0]
    assert len(fake.calls("POST", "/v1/projects")) == 1
    assert len(fake.projects) == 1


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
