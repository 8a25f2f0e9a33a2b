"""The Render scaling dynamic provider against a local fake of Render's API over real HTTP.

Render's rules the fake follows are cited in tests/fake_render.py (Render's OpenAPI spec as the
Render provider ships it, openapi_generated.yml, and https://api-docs.render.com).
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config
from pulumi.dynamic.dynamic import serialize_provider

from components.platforms.render_scaling import (
    API_URL_ENV,
    TOKEN_CONFIG,
    TOKEN_ENV,
    USER_AGENT,
    RenderApiError,
    RenderScalingProvider,
)
from tests.fake_render import FakeRender

SERVICE = "srv-d0abcdefghijklmnopqr"
AUTOSCALED = {
    "service_id": SERVICE,
    "min_instances": 1,
    "max_instances": 3,
    "cpu_target_percent": 70,
    "memory_target_percent": 80,
}
FIXED = {**AUTOSCALED, "min_instances": 2, "max_instances": 2}


@pytest.fixture
def fake(monkeypatch):
    server = FakeRender().start()
    server.add_service(SERVICE)
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
def provider(sleeps) -> RenderScalingProvider:
    return RenderScalingProvider(sleep=sleeps, max_attempts=4, max_backoff_seconds=8)


def configure(provider: RenderScalingProvider, **config: str) -> None:
    # What the engine's provider process does after unpickling (pulumi/dynamic/__main__.py
    # get_provider): the whole stack configuration, namespaced and decrypted.
    provider.configure(ConfigureRequest(Config(raw_config=config, project_name="platform")))


# -- create ---------------------------------------------------------------------------------


def test_create_puts_the_autoscaling_config_render_documents(fake, provider):
    result = provider.create(dict(AUTOSCALED))

    [put] = fake.calls("PUT")
    assert put.path == f"/v1/services/{SERVICE}/autoscaling"
    # openapi_generated.yml webServiceDetails.autoscaling: enabled, min, max, criteria required;
    # each criterion enabled and percentage required.
    assert put.body == {
        "enabled": True,
        "min": 1,
        "max": 3,
        "criteria": {
            "cpu": {"enabled": True, "percentage": 70},
            "memory": {"enabled": True, "percentage": 80},
        },
    }
    assert result.id == SERVICE
    assert result.outs == AUTOSCALED
    assert all(r.authorization == f"Bearer {fake.token}" for r in fake.requests)
    assert {r.user_agent for r in fake.requests} == {USER_AGENT}
    assert fake.calls("POST") == [] and fake.calls("DELETE") == []


def test_create_with_equal_bounds_sets_a_fixed_count_without_autoscaling(fake, provider):
    result = provider.create(dict(FIXED))

    assert [(r.method, r.path) for r in fake.requests] == [
        ("DELETE", f"/v1/services/{SERVICE}/autoscaling"),  # 404: none yet, tolerated
        ("POST", f"/v1/services/{SERVICE}/scale"),
    ]
    assert fake.calls("POST")[0].body == {"numInstances": 2}
    assert fake.details(SERVICE)["numInstances"] == 2
    assert "autoscaling" not in fake.details(SERVICE)
    assert result.id == SERVICE and result.outs == FIXED


@pytest.mark.parametrize("inputs", [AUTOSCALED, FIXED], ids=["autoscaled", "fixed"])
def test_create_on_a_missing_service_is_a_clear_error(fake, provider, inputs):
    # Fixed: the DELETE's 404 reads as "no autoscaling config"; the POST's 404 then says it.
    with pytest.raises(RenderApiError, match=r"srv-nope was not found .*deleted outside Pulumi") as error:
        provider.create({**inputs, "service_id": "srv-nope"})
    assert error.value.status == 404


# -- update ---------------------------------------------------------------------------------


def test_a_new_maximum_updates_in_place(fake, provider):
    created = provider.create(dict(AUTOSCALED))
    news = {**AUTOSCALED, "max_instances": 5}

    diff = provider.diff(created.id, created.outs, news)
    assert diff.changes and diff.replaces == []

    result = provider.update(created.id, created.outs, news)

    assert fake.details(SERVICE)["autoscaling"]["max"] == 5
    assert result.outs["max_instances"] == 5
    assert len(fake.calls("PUT")) == 2 and fake.calls("DELETE") == []


def test_from_autoscaling_to_a_fixed_count_deletes_the_config_before_scaling(fake, provider):
    # "Render ignores this value as long as autoscaling is enabled" (POST /scale): the fake
    # ignores it too, so a scale sent before the DELETE would leave the service at 1.
    created = provider.create(dict(AUTOSCALED))

    provider.update(created.id, created.outs, dict(FIXED))

    assert "autoscaling" not in fake.details(SERVICE)
    assert fake.details(SERVICE)["numInstances"] == 2


def test_from_a_fixed_count_to_autoscaling(fake, provider):
    created = provider.create(dict(FIXED))

    result = provider.update(created.id, created.outs, dict(AUTOSCALED))

    assert fake.details(SERVICE)["autoscaling"]["enabled"] is True
    assert result.outs == AUTOSCALED


def test_diff_is_on_the_inputs_and_targets_count_only_while_autoscaling(provider):
    assert not provider.diff(SERVICE, dict(AUTOSCALED), dict(AUTOSCALED)).changes
    assert provider.diff(SERVICE, dict(AUTOSCALED), {**AUTOSCALED, "cpu_target_percent": 60}).changes
    assert provider.diff(SERVICE, dict(AUTOSCALED), {**AUTOSCALED, "min_instances": 2}).changes
    # With a fixed count Render has no targets: changing them sends nothing.
    assert not provider.diff(SERVICE, dict(FIXED), {**FIXED, "memory_target_percent": 60}).changes
    assert provider.diff(SERVICE, dict(FIXED), {**FIXED, "min_instances": 3, "max_instances": 3}).changes
    moved = provider.diff(SERVICE, dict(AUTOSCALED), {**AUTOSCALED, "service_id": "srv-other"})
    assert moved.changes and moved.replaces == ["service_id"]
    # A state holding no count (Render answered none) differs from any program.
    assert provider.diff(SERVICE, {"service_id": SERVICE}, dict(AUTOSCALED)).changes


# -- read -----------------------------------------------------------------------------------


def test_read_reports_a_dashboard_change_so_the_next_up_puts_it_back(fake, provider):
    created = provider.create(dict(AUTOSCALED))
    fake.details(SERVICE)["autoscaling"]["max"] = 10  # changed in the dashboard

    result = provider.read(created.id, dict(created.outs))

    assert result.id == SERVICE and result.outs["max_instances"] == 10
    assert provider.diff(SERVICE, result.outs, dict(AUTOSCALED)).changes
    settled = provider.read(created.id, dict(provider.create(dict(AUTOSCALED)).outs))
    assert not provider.diff(SERVICE, settled.outs, dict(AUTOSCALED)).changes  # a second up is clean


def test_read_of_a_fixed_service_is_its_instance_count(fake, provider):
    created = provider.create(dict(FIXED))

    result = provider.read(created.id, dict(created.outs))

    assert (result.outs["min_instances"], result.outs["max_instances"]) == (2, 2)
    assert not provider.diff(SERVICE, result.outs, dict(FIXED)).changes


def test_read_sees_autoscaling_turned_off_in_the_dashboard(fake, provider):
    created = provider.create(dict(AUTOSCALED))
    fake.details(SERVICE)["autoscaling"]["enabled"] = False

    result = provider.read(created.id, dict(created.outs))

    assert (result.outs["min_instances"], result.outs["max_instances"]) == (1, 1)  # numInstances
    assert provider.diff(SERVICE, result.outs, dict(AUTOSCALED)).changes


def test_read_of_a_disabled_criterion_differs_from_the_target(fake, provider):
    created = provider.create(dict(AUTOSCALED))
    fake.details(SERVICE)["autoscaling"]["criteria"]["memory"]["enabled"] = False

    result = provider.read(created.id, dict(created.outs))

    assert result.outs["memory_target_percent"] is None
    assert provider.diff(SERVICE, result.outs, dict(AUTOSCALED)).changes


def test_read_of_a_deleted_service_means_gone(fake, provider):
    created = provider.create(dict(AUTOSCALED))
    del fake.services[SERVICE]

    result = provider.read(created.id, dict(created.outs))

    assert result.id == "" and result.outs == {}


def test_read_for_an_import_fills_the_values_from_render(fake, provider):
    fake.details(SERVICE)["autoscaling"] = {
        "enabled": True,
        "min": 2,
        "max": 4,
        "criteria": {
            "cpu": {"enabled": True, "percentage": 60},
            "memory": {"enabled": False, "percentage": 0},
        },
    }

    result = provider.read(SERVICE, {})

    assert result.outs == {
        "service_id": SERVICE,
        "min_instances": 2,
        "max_instances": 4,
        "cpu_target_percent": 60,
        "memory_target_percent": None,
    }


# -- delete ---------------------------------------------------------------------------------


def test_delete_leaves_the_service_scaled_as_it_is(fake, provider):
    created = provider.create(dict(AUTOSCALED))
    before = len(fake.requests)

    provider.delete(created.id, dict(created.outs))

    assert len(fake.requests) == before  # nothing sent: production keeps its autoscaling
    assert fake.details(SERVICE)["autoscaling"]["enabled"] is True


# -- errors and retries ---------------------------------------------------------------------


def test_401_names_both_places_the_key_can_come_from_and_is_not_retried(fake, provider):
    fake.token = "another-key"

    with pytest.raises(
        RenderApiError, match=rf"Render refused the API key \(HTTP 401.*{TOKEN_CONFIG}.*{TOKEN_ENV}"
    ) as error:
        provider.create(dict(AUTOSCALED))

    assert error.value.status == 401 and len(fake.requests) == 1


def test_403_is_a_clear_error(fake, provider):
    fake.fail(1, 403)

    with pytest.raises(RenderApiError, match=r"HTTP 403.*Professional workspace") as error:
        provider.create(dict(AUTOSCALED))

    assert error.value.status == 403 and len(fake.requests) == 1


def test_missing_key_fails_before_any_request(fake, provider, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV)

    with pytest.raises(RenderApiError, match=f"neither {TOKEN_CONFIG} nor {TOKEN_ENV} is set"):
        provider.create(dict(AUTOSCALED))

    assert fake.requests == []


@pytest.mark.parametrize("header", ["Retry-After", "retry-after", "RETRY-AFTER"])
def test_429_is_retried_after_retry_after_whatever_its_case(fake, provider, sleeps, header):
    # Render answers 429 past its limits and asks for retries (api-docs.render.com/reference/
    # rate-limiting); header names are case-insensitive (RFC 9110 section 5.1).
    fake.throttle(2, retry_after="3", header=header)

    provider.create(dict(AUTOSCALED))

    assert sleeps == [3.0, 3.0]
    assert fake.details(SERVICE)["autoscaling"]["max"] == 3


def test_persistent_429_gives_up_after_bounded_attempts(fake, provider, sleeps):
    fake.throttle(100, retry_after="600")

    with pytest.raises(RenderApiError, match=r"still failing after 4 attempts \(HTTP 429"):
        provider.create(dict(AUTOSCALED))

    assert len(fake.requests) == 4 and sleeps == [8, 8, 8]  # capped by max_backoff_seconds


def test_setting_a_count_is_retried_on_server_errors(fake, provider):
    # POST /scale sets a value: repeating it changes nothing, so it is retried like a PUT.
    fake.fail(2, 503, method="POST")

    provider.create(dict(FIXED))

    assert len(fake.calls("POST")) == 3 and fake.details(SERVICE)["numInstances"] == 2


# -- the key never reaches the state --------------------------------------------------------


def test_the_stack_config_key_is_used_first_as_the_render_provider_does(fake, provider, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, "an-old-env-key")
    configure(provider, **{TOKEN_CONFIG: fake.token})

    provider.create(dict(AUTOSCALED))

    assert {r.authorization for r in fake.requests} == {f"Bearer {fake.token}"}


def test_the_key_is_in_no_output_and_not_in_the_pickled_provider(fake, provider):
    configure(provider, **{TOKEN_CONFIG: fake.token})
    created = provider.create(dict(AUTOSCALED))
    read = provider.read(created.id, dict(created.outs))
    updated = provider.update(created.id, created.outs, {**AUTOSCALED, "max_instances": 4})

    for outs in (created.outs, read.outs, updated.outs):
        assert fake.token not in json.dumps(outs)
    # The engine stores dill.dumps(provider) in the state (pulumi dynamic.py serialize_provider).
    raw = base64.b64decode(serialize_provider(provider))
    assert fake.token.encode() not in raw


def test_the_provider_is_pickled_by_reference_and_runs_in_a_fresh_process(fake):
    # As for Supabase: dill pickles the module path and class name, and the engine's provider
    # process imports them again, so renaming the module breaks stacks that stored the old path.
    blob = serialize_provider(RenderScalingProvider())
    raw = base64.b64decode(blob)
    assert b"components.platforms.render_scaling" in raw and b"RenderScalingProvider" in raw
    assert b"autoscaling_body" not in raw and len(raw) < 1000  # no code by value

    script = textwrap.dedent(
        """
        import base64, json, sys
        import dill
        provider = dill.loads(base64.b64decode(sys.stdin.read()))
        result = provider.create(json.loads(sys.argv[1]))
        print(json.dumps({"id": result.id, "outs": result.outs}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(AUTOSCALED)],
        input=blob,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        env={"PATH": "", API_URL_ENV: fake.url, TOKEN_ENV: fake.token, "PYTHONPATH": "."},
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"id": SERVICE, "outs": AUTOSCALED}
    assert fake.details(SERVICE)["autoscaling"]["min"] == 1
