"""``platform:services``: the map's entries, their names, and the rules across them."""

from __future__ import annotations

import pytest

from components.settings import SettingsError, deep_merge, parse_settings

REGION = "ap-northeast-1"
DOMAIN = {"dns": {"domain": "example.com"}}


def parse(topology: str = "staging", **sections: object):
    base = deep_merge(DOMAIN, {"services": {"api": {"imageTag": "1.0.0"}, "web": {"imageTag": "1.0.0"}}})
    if topology == "staging":
        base = DOMAIN
    return parse_settings({"topology": topology, **deep_merge(base, sections)}, stack="test", region=REGION)


def problems_of(topology: str = "staging", **sections: object) -> list[str]:
    with pytest.raises(SettingsError) as error:
        parse(topology, **sections)
    return error.value.problems


def test_a_third_service_is_one_entry_and_the_presets_stay() -> None:
    settings = parse(services={"worker": {"cpu": 512, "memory": 1024}})
    assert list(settings.services) == ["api", "web", "worker"]
    worker = settings.services["worker"]
    # An entry of its own keys only: no host, no secrets, the entry defaults.
    assert (worker.cpu, worker.memory, worker.subdomain, worker.secrets) == (512, 1024, None, ())
    assert settings.services["web"].subdomain == "staging"


def test_a_preset_service_is_removed_with_enabled_false() -> None:
    assert list(parse(services={"web": {"enabled": False}}).services) == ["api"]


@pytest.mark.parametrize("name", ["Worker", "9lives", "a" * 13, "w_1"])
def test_a_service_name_fit_for_physical_names_is_required(name: str) -> None:
    [problem] = problems_of(services={name: {}})
    assert problem == (
        f"platform:services.{name}: a service's name is 1-12 lower-case letters, digits or '-', "
        f"starting with a letter (got {name!r})"
    )


@pytest.mark.parametrize("name", ["db-admin", "database", "datadog-init"])
def test_names_the_stack_uses_itself_are_refused(name: str) -> None:
    [problem] = problems_of(services={name: {}})
    assert problem.startswith(f"platform:services.{name}: {name!r} is taken by the stack itself")


def test_two_services_on_one_host_are_refused() -> None:
    [problem] = problems_of(services={"admin": {"subdomain": "staging"}})
    assert problem == (
        "platform:services.admin.subdomain: 'staging' is also web's: one host name is served by one "
        "service; give each its own subdomain"
    )


def test_without_a_domain_one_service_takes_the_load_balancers_name() -> None:
    [problem] = problems_of(dns={"domain": None})
    assert problem.startswith("platform:services.web.subdomain: without platform:dns.domain")
    assert list(parse(dns={"domain": None}, services={"web": {"subdomain": None}}).services) == ["api", "web"]


def test_mongodb_is_only_given_while_atlas_exists() -> None:
    [problem] = problems_of(atlas={"enabled": False})
    assert problem.startswith("platform:services.api.secrets: lists MONGODB_URI, but platform:atlas.enabled")
    assert parse(atlas={"enabled": False}, services={"api": {"secrets": ["DATABASE_URL"]}})


def test_the_admin_tasks_image_service_stays() -> None:
    problems = problems_of(services={"api": {"enabled": False}})
    assert any(p.startswith("platform:services.api: the api service is disabled") for p in problems)
    [problem] = problems_of(services={"api": {"secrets": ["MONGODB_URI"]}})
    assert problem.startswith("platform:services.api.secrets: must list DATABASE_URL")


def test_the_pre_commercial_dns_subdomains_are_refused_on_aws() -> None:
    [problem] = problems_of(dns={"webSubdomain": "site"})
    assert problem.startswith("platform:dns.webSubdomain: is pre-commercial's")


@pytest.mark.parametrize(
    ("entry", "complaint"),
    [
        ({"subdomain": None, "requestsPerTarget": 100}, "requestsPerTarget needs subdomain"),
        ({"writablePaths": ["/tmp", "/tmp"]}, "lists a path twice"),
        ({"secrets": ["DATABASE_URL", "DATABASE_URL"]}, "secrets lists a name twice"),
        ({"environment": {"PORT": "8080"}}, "environment must not set ['PORT']"),
        ({"secrets": ["DD_API_KEY"]}, "Input should be 'DATABASE_URL' or 'MONGODB_URI'"),
    ],
)
def test_an_entry_is_checked_on_its_own(entry: dict, complaint: str) -> None:
    problems = problems_of(services={"web": entry})
    assert problems and all(p.startswith("platform:services.web") for p in problems), problems
    assert any(complaint in p for p in problems), problems


def test_commercial_keeps_every_service_highly_available() -> None:
    # Two tasks in two AZs for the web as for the API (commercial "fully HA", the seed).
    problems = problems_of("commercial", services={"web": {"minCount": 1}})
    assert problems[0] == "platform:services.web.minCount: commercial needs at least 2 tasks for HA (got 1)"


@pytest.mark.parametrize("name", ["db0", "db12", "db-writer", "db-reader"])
def test_names_of_the_databases_alarms_are_refused(name: str) -> None:
    # The database's alarms are monitoring-db0-cpu, monitoring-db-writer-cpu, ...; a service of
    # that name would register a second resource under the same URN, which the engine refuses.
    [problem] = problems_of(services={name: {}})
    assert problem.startswith(f"platform:services.{name}: {name!r} is taken by the stack itself")


def test_two_served_services_never_share_a_listener_rule_priority() -> None:
    # ELB refuses a second rule with a priority the listener already has (CreateRule:
    # PriorityInUse). "twix" and "web" happen to hash to the same priority.
    [problem] = problems_of(services={"twix": {"subdomain": "twix"}})
    assert problem.startswith("platform:services: 'web' and 'twix' take the same listener-rule priority")
    # Not served, no rule: no clash.
    assert "twix" in parse(services={"twix": {}}).services


@pytest.mark.parametrize(
    "paths", [["/app/.next/cache", "/app/next-cache"], ["/tmp", "/."], ["/tmp", "/datadog/tmp"]]
)
def test_writable_paths_whose_volumes_would_clash_are_refused(paths: list[str]) -> None:
    # Task storage volumes are named after the paths; RegisterTaskDefinition refuses two volumes
    # of one name and an empty one (ECS API reference, Volume "name").
    [problem] = problems_of(services={"web": {"writablePaths": paths}})
    assert problem.startswith("platform:services.web.writablePaths: ") and "task-storage volumes" in problem
