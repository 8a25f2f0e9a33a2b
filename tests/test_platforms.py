"""The pre-commercial topology: Vercel -> Render -> Supabase and Atlas, wired with secrets intact."""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from components.platforms.render import RenderApi, RenderApiArgs
from components.platforms.supabase import SupabaseProject, SupabaseProjectArgs
from components.platforms.vercel import VercelWeb, VercelWebArgs
from components.settings import DnsSettings, RenderSettings, SettingsError, SupabaseSettings, VercelSettings
from tools.harness import last_run, run_stack
from tools.mocks import Secret, reveal

STACK = "prod-precommercial"
SERVICE = "render:services:WebService"
ENV_VAR = "vercel:index/projectEnvironmentVariable:ProjectEnvironmentVariable"
CUSTOM_DOMAIN = "render:services:CustomDomain"
RENDER_ENV = "render:services:EnvVarsForService"
SCALING = "pulumi-python:dynamic/render:Scaling"
CRON_JOB = "render:services:CronJob"
PROJECT_DOMAIN = "vercel:index/projectDomain:ProjectDomain"
SUPABASE = "pulumi-python:dynamic/supabase:Project"
RENDER_EGRESS = ["203.0.113.10/32", "203.0.113.11/32", "203.0.113.12/32"]
# aws:region: the backup bucket's (platform:backup is on by default).
STANDALONE = {"platform:topology": "pre-commercial", "aws:region": "ap-northeast-1"}


@pytest.fixture(scope="module")
def run():
    return run_stack(STACK)


@pytest.fixture(scope="module")
def configured():
    """The committed stack with a domain, the API on it and Render's outbound addresses filled in."""
    return run_stack(
        STACK,
        {
            "platform:dns": {"domain": "example.com"},
            "platform:render": {"outboundCidrs": RENDER_EGRESS, "customDomain": True},
        },
    )


def env_of(run) -> dict[str, str]:
    """The API's variables as the env-var resource (which owns them after creation) sets them."""
    return {var["key"]: var["value"] for var in run.one(RENDER_ENV, "api-env")["envVars"]}


def vercel_vars(run) -> dict[str, Any]:
    return {var["key"]: var for var in run.of_type(ENV_VAR)}


# -- wiring ---------------------------------------------------------------------------------


def test_render_database_url_is_the_supabase_pooled_connection_string(run):
    env = env_of(run)
    supabase = run.one(SUPABASE)

    # The mock answers with a URL as an older state holds it (sslmode=require); the component
    # hands Render the same URL with verified TLS.
    before = supabase.outputs["pooled_connection_string"]
    assert before.endswith("?sslmode=require")
    assert env["DATABASE_URL"] == before.removesuffix("sslmode=require") + (
        "sslmode=verify-full&sslrootcert=certs/supabase-prod-ca-2021.crt"
    )
    assert env["DATABASE_URL"].startswith(f"postgresql://postgres.{supabase.outputs['ref']}:")
    # Supabase documents verify-full against its root certificate for the pooler
    # (supabase.com/docs/guides/database/psql); node-postgres verifies for sslmode=require too.


def test_the_api_uses_the_transaction_pooler_with_a_bounded_pool_per_instance(run):
    # Supavisor's session mode admits only pool-size clients (15 on nano): 3 Render instances
    # plus the commercial tasks of the cut-over do not fit (supabase/supabase discussions #22305);
    # transaction mode is port 6543 (https://supabase.com/docs/guides/database/connecting-to-postgres).
    env = env_of(run)

    assert run.one(SUPABASE)["pool_mode"] == "transaction"
    assert urllib.parse.urlsplit(env["DATABASE_URL"]).port == 6543
    assert env["DATABASE_POOL_MAX"] == "5"


def test_session_mode_is_available_on_request():
    session = run_stack(STACK, {"platform:supabase": {"poolMode": "session", "connectionsPerInstance": 4}})

    env = env_of(session)
    assert urllib.parse.urlsplit(env["DATABASE_URL"]).port == 5432
    assert env["DATABASE_POOL_MAX"] == "4"


def test_render_mongodb_uri_and_sentry_dsn_come_from_atlas_and_sentry(run):
    env = env_of(run)
    atlas = run.one("platform:atlas:MongoAtlas")
    api_key = run.one("sentry:index/sentryKey:SentryKey", "-api-")

    assert env["MONGODB_URI"] == reveal(atlas.outputs["connection_uri"])
    assert env["SENTRY_DSN"] == api_key.outputs["dsnPublic"]


def test_vercel_calls_the_render_service_and_reports_to_the_web_sentry_project(run):
    service = run.one(SERVICE)
    variables = vercel_vars(run)
    web_key = run.one("sentry:index/sentryKey:SentryKey", "-web-")

    api_url = service.outputs["serviceDetails"]["url"]
    assert variables["NEXT_PUBLIC_API_URL"]["value"] == api_url == run.output("apiUrl")
    assert variables["SENTRY_DSN"]["value"] == web_key.outputs["dsnPublic"]
    project_id = run.one("vercel:index/project:Project").id
    assert {v["projectId"] for v in variables.values()} == {project_id}
    assert all(sorted(v["targets"]) == ["preview", "production"] for v in variables.values())


def test_render_service_matches_the_settings(run):
    service = run.one(SERVICE)
    details = service["serviceDetails"]

    assert service["repo"] == "https://github.com/example-org/platform-api"
    assert service["branch"] == "main"
    assert service["autoDeploy"] == "yes"
    assert service["ownerId"].startswith("tea-")
    assert details["region"] == "singapore"
    assert details["runtime"] == "node"
    assert details["healthCheckPath"] == "/health"
    assert details["envSpecificDetails"] == {
        "buildCommand": "npm ci && npm run build",
        "startCommand": "node dist/main.js",
    }
    # The scaling resource owns these; in the create body they would have a second owner.
    assert "autoscaling" not in details and "numInstances" not in details
    assert details["previews"] == {"generation": "off"}  # previews would share the production data


def test_vercel_project_is_a_git_linked_nextjs_project_near_the_api(run):
    project = run.one("vercel:index/project:Project")

    assert project["framework"] == "nextjs"
    assert project["gitRepository"] == {
        "type": "github",
        "repo": "example-org/platform-web",
        "productionBranch": "main",
    }
    assert project["resourceConfig"]["functionDefaultRegions"] == ["sin1"]


def test_without_a_domain_the_project_claims_its_vercel_app_name_and_the_api_trusts_it(run):
    # Vercel gives <project>.vercel.app only while the name is free; claimed as a project domain,
    # a taken name fails the up (400 "already assigned to another project", vercel/vercel#15678).
    [domain] = run.of_type(PROJECT_DOMAIN)
    project = run.one("vercel:index/project:Project")

    assert domain["domain"] == "platform-web.vercel.app"
    assert domain["projectId"] == project.id and domain["teamId"] == project["teamId"]
    assert env_of(run)["WEB_ORIGIN"] == "https://platform-web.vercel.app"
    assert run.output("webUrl") == "https://platform-web.vercel.app"


def test_the_committed_stack_exports_urls_and_dashboards(run):
    assert run.output("webUrl") == "https://platform-web.vercel.app"
    assert run.output("apiUrl") == "https://platform-api.onrender.com"
    dashboards = run.output("dashboards")
    ref = run.one(SUPABASE).outputs["ref"]
    assert dashboards["supabase"] == f"https://supabase.com/dashboard/project/{ref}"
    assert dashboards["render"] == f"https://dashboard.render.com/web/{run.one(SERVICE).id}"
    assert dashboards["atlas"].startswith(
        f"https://cloud.mongodb.com/v2/{run.one('mongodbatlas:index/project:Project').id}"
    )
    assert dashboards["backup"] == f"https://dashboard.render.com/cron/{run.one(CRON_JOB).id}"
    assert set(dashboards) == {"vercel", "render", "supabase", "atlas", "backup"}


def test_custom_domain_serves_the_web_and_is_the_api_cors_origin(configured):
    [domain] = configured.of_type(PROJECT_DOMAIN)

    assert domain["domain"] == "www.example.com"
    assert configured.output("webUrl") == "https://www.example.com"
    assert env_of(configured)["WEB_ORIGIN"] == "https://www.example.com"


def test_with_a_domain_render_serves_the_api_name_and_the_web_calls_it(configured):
    # The name the commercial stack's weighted records later move to AWS (docs/migration.md).
    [domain] = configured.of_type(CUSTOM_DOMAIN)
    service = configured.one(SERVICE)

    assert domain["name"] == "api.example.com" and domain["serviceId"] == service.id
    assert configured.component_of(domain).type == "platform:render:RenderApi"
    assert vercel_vars(configured)["NEXT_PUBLIC_API_URL"]["value"] == "https://api.example.com"
    assert configured.output("apiUrl") == "https://api.example.com"


def test_a_domain_alone_moves_the_web_but_leaves_the_api_on_onrender():
    # Nothing in this stack creates the api record, so the web must not call that name until
    # render.customDomain says the record exists (docs/migration.md, phase 2).
    run = run_stack(STACK, {"platform:dns": {"domain": "example.com"}})

    assert run.of_type(CUSTOM_DOMAIN) == []
    assert [d["domain"] for d in run.of_type(PROJECT_DOMAIN)] == ["www.example.com"]
    onrender = run.one(SERVICE).outputs["serviceDetails"]["url"]
    assert vercel_vars(run)["NEXT_PUBLIC_API_URL"]["value"] == onrender == run.output("apiUrl")


def test_the_api_domain_needs_a_domain():
    with pytest.raises(
        SettingsError, match=r"platform:render\.customDomain: true needs platform:dns\.domain"
    ):
        run_stack(STACK, {"platform:render": {"customDomain": True}})
    assert last_run().resources == []


def test_the_api_subdomain_setting_names_the_render_domain():
    run = run_stack(
        STACK,
        {
            "platform:dns": {"domain": "example.jp", "apiSubdomain": "backend"},
            "platform:render": {"customDomain": True},
        },
    )

    assert run.one(CUSTOM_DOMAIN)["name"] == "backend.example.jp"
    assert vercel_vars(run)["NEXT_PUBLIC_API_URL"]["value"] == "https://backend.example.jp"


def test_without_a_domain_render_has_no_custom_domain_and_the_web_calls_onrender(run):
    assert run.of_type(CUSTOM_DOMAIN) == []
    onrender = run.one(SERVICE).outputs["serviceDetails"]["url"]
    assert onrender.endswith(".onrender.com")
    assert vercel_vars(run)["NEXT_PUBLIC_API_URL"]["value"] == onrender


def test_atlas_admits_renders_outbound_addresses_and_not_the_internet(run, configured):
    access = [
        r["cidrBlock"]
        for r in configured.of_type("mongodbatlas:index/projectIpAccessList:ProjectIpAccessList")
    ]

    assert sorted(access) == RENDER_EGRESS
    # (The committed placeholders still warn; the outbound addresses no longer do.)
    assert not any("outboundCidrs" in w for w in configured.warnings)
    # Without them nothing is opened, and the run says what to set.
    assert run.of_type("mongodbatlas:index/projectIpAccessList:ProjectIpAccessList") == []
    assert any("platform:render.outboundCidrs" in w for w in run.warnings)


def test_atlas_also_admits_the_commercial_stacks_nat_addresses_during_the_cutover():
    # docs/migration.md phase 1: the commercial egressIps go into platform:atlas.accessCidrs here.
    commercial_nat = ["198.51.100.10/32", "198.51.100.11/32", "198.51.100.12/32"]
    run = run_stack(
        STACK,
        {
            "platform:render": {"outboundCidrs": RENDER_EGRESS},
            "platform:atlas": {"accessCidrs": commercial_nat},
        },
    )
    access = [
        r["cidrBlock"] for r in run.of_type("mongodbatlas:index/projectIpAccessList:ProjectIpAccessList")
    ]

    assert sorted(access) == sorted(RENDER_EGRESS + commercial_nat)


def test_optional_services_off_leave_no_dangling_variables():
    off = run_stack(STACK, {"platform:sentry": {"enabled": False}, "platform:atlas": {"enabled": False}})

    assert not [r for r in off.resources if r.type.startswith(("sentry:", "mongodbatlas:"))]
    assert set(env_of(off)) == {"DATABASE_URL", "DATABASE_POOL_MAX", "NODE_ENV", "WEB_ORIGIN"}
    assert set(vercel_vars(off)) == {"NEXT_PUBLIC_API_URL"}
    assert set(off.output("dashboards")) == {"vercel", "render", "supabase", "backup"}


# -- secrets --------------------------------------------------------------------------------


def secret_values(run) -> set[str]:
    """Every secret the topology handles: passwords, connection strings and DSNs."""
    values = {r.outputs["result"] for r in run.of_type("random:index/randomPassword:RandomPassword")}
    values.add(run.one(SUPABASE).outputs["pooled_connection_string"])
    values.update(r.outputs["dsnPublic"] for r in run.of_type("sentry:index/sentryKey:SentryKey"))
    values.add(reveal(run.one("platform:atlas:MongoAtlas").outputs["connection_uri"]))
    assert all(isinstance(v, str) and len(v) >= 16 for v in values)
    return values


def plain_leaves(value: Any) -> Iterator[str]:
    """String leaves of an input or output that are not under a Secret marker."""
    if isinstance(value, Secret):
        return
    if isinstance(value, dict):
        for item in value.values():
            yield from plain_leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from plain_leaves(item)
    elif isinstance(value, str):
        yield value


def test_no_stack_output_is_or_contains_a_secret(run, configured):
    for each in (run, configured):
        exported = json.dumps(reveal(each.outputs))
        assert not [s for s in secret_values(each) if s in exported]
        assert "[secret]" not in repr(each.outputs)  # nothing secret is exported, not even encrypted


def test_secrets_reach_resources_only_as_secret_inputs(run):
    secrets = secret_values(run)
    for resource in run.resources:
        inputs = {k: v for k, v in resource.inputs.items() if k != "__provider"}
        leaked = [leaf for leaf in plain_leaves(inputs) for s in secrets if s in leaf]
        assert not leaked, f"{resource.name} has a secret in a plain input"
    assert isinstance(run.one(SUPABASE).inputs["db_pass"], Secret)
    assert isinstance(run.one(SERVICE).inputs["envVars"], Secret)
    assert isinstance(run.one(RENDER_ENV, "api-env").inputs["envVars"], Secret)


def test_the_serialized_supabase_provider_holds_no_secret_or_token(run, monkeypatch):
    blob = base64.b64decode(run.one(SUPABASE)["__provider"])

    assert not [s for s in secret_values(run) if s.encode() in blob]
    assert b"sbp_" not in blob


def test_vercel_stores_secrets_as_sensitive_and_the_api_url_as_plain(run):
    variables = vercel_vars(run)

    assert variables["SENTRY_DSN"]["sensitive"] is True
    assert variables["NEXT_PUBLIC_API_URL"]["sensitive"] is False


def test_supabase_component_outputs_the_connection_string_as_secret_only(run):
    component = run.one("platform:supabase:SupabaseProject")

    assert isinstance(component.outputs["pooled_connection_string"], Secret)
    assert not isinstance(component.outputs["ref"], Secret)


def test_render_sends_each_injected_secret_as_a_secret_value():
    settings = RenderSettings()
    plain_only = run_stack(
        STACK, config=STANDALONE, program=lambda: RenderApi("api", RenderApiArgs(settings))
    )
    with_secret = run_stack(
        STACK,
        config=STANDALONE,
        program=lambda: RenderApi(
            "api", RenderApiArgs(settings, secrets={"DATABASE_URL": "postgresql://u:p@h/db"})
        ),
    )

    assert not isinstance(plain_only.one(SERVICE).inputs["envVars"], Secret)
    assert isinstance(with_secret.one(SERVICE).inputs["envVars"], Secret)
    assert not isinstance(plain_only.one(RENDER_ENV, "api-env").inputs["envVars"], Secret)
    # One secret around the whole list: the engine marks an output secret only when the input of
    # the same top-level name is (pulumi/pulumi pkg/resource/deploy/step_executor.go), and Render
    # answers the values in clear (render-openapi `envVarWithCursor`).
    assert isinstance(with_secret.one(RENDER_ENV, "api-env").inputs["envVars"], Secret)


def test_render_refuses_plain_variables_that_would_shadow_a_secret():
    with pytest.raises(ValueError, match=r"must not set \['DATABASE_URL'\]"):
        RenderSettings(environment={"DATABASE_URL": "postgresql://oops"})
    derived = {"DATABASE_URL": "postgresql://oops"}
    with pytest.raises(ValueError, match=r"must not set \['DATABASE_URL'\]"):
        run_stack(
            STACK,
            config=STANDALONE,
            program=lambda: RenderApi(
                "api", RenderApiArgs(RenderSettings(), secrets={"DATABASE_URL": "x"}, environment=derived)
            ),
        )


# -- plans, regions, protection -------------------------------------------------------------


def test_hobby_is_rejected_before_any_resource_is_registered():
    with pytest.raises(SettingsError, match=r"vercel\.plan: 'hobby' forbids commercial use"):
        run_stack(STACK, {"platform:vercel": {"plan": "hobby"}})

    assert last_run().resources == []


def test_vercel_component_refuses_hobby_on_its_own():
    with pytest.raises(ValueError, match="Hobby plan forbids commercial use"):
        run_stack(
            STACK,
            config=STANDALONE,
            program=lambda: VercelWeb(
                "web", VercelWebArgs(VercelSettings(plan="hobby"), DnsSettings(), function_region="sin1")
            ),
        )


def test_vercel_team_is_required_and_every_vercel_resource_is_in_it(run):
    # Without teamId the project is created in the token's personal scope, the Hobby plan
    # (terraform-provider-vercel vercel/resource_project.go team_id: "Required when configuring a
    # team resource if a default team has not been set in the provider").
    with pytest.raises(SettingsError, match=r"platform:vercel\.teamId: required for pre-commercial"):
        run_stack(STACK, config=STANDALONE)
    assert last_run().resources == []

    vercel_resources = [r for r in run.resources if r.type.startswith("vercel:")]
    assert len(vercel_resources) >= 4
    assert {r["teamId"] for r in vercel_resources} == {"team_000000000000000000000000"}
    assert any("platform:vercel.teamId still holds the committed placeholder" in w for w in run.warnings)


def test_the_preview_warns_about_supabase_free_limits(run):
    [warning] = [w for w in run.warnings if "platform:supabase.plan is 'free'" in w]
    assert "7 days" in warning and "no backups" in warning.replace("keeps no", "no")

    pro = run_stack(STACK, {"platform:supabase": {"plan": "pro", "computeSize": "micro"}})
    assert not [w for w in pro.warnings if "supabase.plan" in w]


def test_render_defaults_to_singapore_and_supabase_to_the_free_plan_when_unset():
    defaults = run_stack(STACK, config={**STANDALONE, "platform:vercel": {"teamId": "team_abc"}})

    assert defaults.one(SERVICE)["serviceDetails"]["region"] == "singapore"
    assert defaults.one(SUPABASE)["plan"] == "free"
    assert defaults.one("vercel:index/project:Project")["resourceConfig"]["functionDefaultRegions"] == [
        "sin1"
    ]


def test_the_supabase_project_and_its_password_are_protected(run):
    assert run.one(SUPABASE).protect
    assert run.one("random:index/randomPassword:RandomPassword", "supabase").protect
    assert all(r.protect for r in run.of_type("mongodbatlas:index/advancedCluster:AdvancedCluster"))


def test_supabase_protection_follows_the_setting():
    unprotected = run_stack(
        STACK,
        config=STANDALONE,
        program=lambda: SupabaseProject("db", SupabaseProjectArgs(SupabaseSettings(protect=False))),
    )
    assert not unprotected.one(SUPABASE).protect


# -- what a change does on Render ------------------------------------------------------------

# cloudy-sky-software/pulumi-render provider/cmd/pulumi-resource-render/openapi_generated.yml:
# the properties of `webServicePatch` (`servicePATCH` + serviceDetails, type) and of
# `webServiceDetailsPATCH`. provider/pkg/provider/provider.go OnDiff: a changed top-level input
# outside the first set replaces the service; serviceDetails is PATCHed whole.
PATCHABLE = {
    "autoDeploy",
    "branch",
    "buildFilter",
    "image",
    "name",
    "repo",
    "rootDir",
    "serviceDetails",
    "type",
}
PATCHABLE_DETAILS = {
    "cache", "envSpecificDetails", "healthCheckPath", "maintenanceMode", "maxShutdownDelaySeconds",
    "plan", "preDeployCommand", "previews", "pullRequestPreviewsEnabled", "renderSubdomainPolicy",
    "runtime",
}  # fmt: skip
# Documented in RenderApi and the README: the workspace replaces the service; Render cannot move a
# service to another region, so a region change is left visible in the preview rather than ignored.
REPLACES = {"ownerId"}
UNMOVABLE_DETAILS = {"region"}


def _render_env_run(**environment: str):
    settings = RenderSettings(environment=environment)
    return run_stack(
        STACK,
        config=STANDALONE,
        program=lambda: RenderApi(
            "api", RenderApiArgs(settings, secrets={"DATABASE_URL": "postgresql://u:p@h/db"})
        ),
    )


def test_the_env_var_resource_belongs_to_the_service_and_comes_after_it(run):
    service, env = run.one(SERVICE), run.one(RENDER_ENV, "api-env")

    assert env["serviceId"] == service.id
    assert service.urn in env.dependencies  # PUT /services/{serviceId}/env-vars needs the id
    assert run.component_of(env).type == "platform:render:RenderApi"
    # Render answers the set as envVarWithCursor items; the provider fakes an id from its sha256.
    assert len(env.id) == 64 and "serviceId" not in env.outputs


def test_no_input_the_service_keeps_diffing_on_would_replace_it(run):
    service = run.one(SERVICE)
    ignored = set(service.ignore_changes)

    assert set(service.inputs) - PATCHABLE - {"__provider"} - ignored == REPLACES
    details = set(service["serviceDetails"]) - PATCHABLE_DETAILS
    assert {key for key in details if f"serviceDetails.{key}" not in ignored} == UNMOVABLE_DETAILS
    assert "envVars" in ignored  # not in the PATCH schema (pulumi-render#55): it would replace


def test_fields_render_returns_unasked_do_not_diff_after_a_refresh(run):
    # rest/provider.go Read copies GET's whole serviceDetails into the inputs; the mock answers
    # Render's GET shape. Every key it holds that the program does not send is ignored.
    service = run.one(SERVICE)
    returned = set(service.outputs["serviceDetails"]) - set(service["serviceDetails"])
    read_only = {"buildPlan", "openPorts", "url"}  # not in the POST schema: Read drops them

    assert {f"serviceDetails.{k}" for k in returned - read_only} <= set(service.ignore_changes)
    assert "envVars" not in service.outputs  # Render's service object carries no variables


def test_changing_a_variable_changes_only_the_env_var_resource():
    before, after = _render_env_run(LOG_LEVEL="info"), _render_env_run(LOG_LEVEL="debug")
    ignored = set(before.one(SERVICE).ignore_changes)

    def diffed(resource):
        return {k for k, v in resource.plain_inputs.items() if k not in ignored and k != "__provider"}

    service_before, service_after = before.one(SERVICE), after.one(SERVICE)
    assert {k: service_before.plain_inputs[k] for k in diffed(service_before)} == {
        k: service_after.plain_inputs[k] for k in diffed(service_after)
    }
    assert env_of(before)["LOG_LEVEL"] == "info" and env_of(after)["LOG_LEVEL"] == "debug"
    assert (
        before.one(RENDER_ENV, "api-env")["serviceId"] == after.one(RENDER_ENV, "api-env")["serviceId"]
    )  # no replacement


# -- scaling: the dynamic provider of components/platforms/render_scaling.py --------------------


def _render_scaling_run(**render: int):
    settings = RenderSettings(**render)
    return run_stack(STACK, config=STANDALONE, program=lambda: RenderApi("api", RenderApiArgs(settings)))


def test_the_scaling_resource_carries_the_committed_bounds_and_targets_of_the_service(run):
    service, scaling = run.one(SERVICE), run.one(SCALING)

    assert {k: v for k, v in scaling.plain_inputs.items() if k != "__provider"} == {
        "service_id": service.id,
        "min_instances": 1,
        "max_instances": 3,
        "cpu_target_percent": 70,
        "memory_target_percent": 80,
    }
    assert service.urn in scaling.dependencies  # PUT /services/{serviceId}/autoscaling needs the id
    assert run.component_of(scaling).type == "platform:render:RenderApi"
    assert scaling.id == service.id  # one scaling per service: a new service replaces it
    # The dynamic provider is stored by reference (module path and class), never by value.
    blob = base64.b64decode(scaling.inputs["__provider"])
    assert b"components.platforms.render_scaling" in blob and b"RenderScalingProvider" in blob


def test_changing_max_instances_changes_only_the_scaling_resource():
    before, after = _render_scaling_run(maxInstances=3), _render_scaling_run(maxInstances=5)

    def sent(run, type_):
        resource = run.one(type_)
        ignored = set(resource.ignore_changes)
        return {k: v for k, v in resource.plain_inputs.items() if k not in ignored and k != "__provider"}

    assert sent(before, SERVICE) == sent(after, SERVICE)  # nothing for the service to PATCH or replace
    assert sent(before, RENDER_ENV) == sent(after, RENDER_ENV)  # no redeploy either
    changed = {k for k, v in sent(after, SCALING).items() if sent(before, SCALING)[k] != v}
    assert changed == {"max_instances"}
    assert sent(after, SCALING)["service_id"] == sent(before, SCALING)["service_id"]  # in place


def test_equal_bounds_ask_for_a_fixed_count_through_the_same_resource():
    fixed = _render_scaling_run(minInstances=2, maxInstances=2)
    scaling = fixed.one(SCALING)

    assert (scaling["min_instances"], scaling["max_instances"]) == (2, 2)
    assert "numInstances" not in fixed.one(SERVICE)["serviceDetails"]


# -- the pooler's limits (settings) -----------------------------------------------------------

TEAM = {"platform:vercel": {"teamId": "team_abc123"}}


def pooler_problems(**supabase_and_render: dict) -> list[str]:
    with pytest.raises(SettingsError) as error:
        run_stack(
            STACK,
            config={
                **STANDALONE,
                **TEAM,
                **{f"platform:{k}": v for k, v in supabase_and_render.items()},
            },
        )
    assert last_run().resources == []
    return error.value.problems


def test_session_mode_refuses_more_clients_than_the_pool_size():
    # Session mode: at most pool-size clients (15 on nano), supabase/supabase discussions #22305.
    # 3 Render instances x 5 plus 2 commercial tasks x 5 during the cut-over is 25.
    [problem] = pooler_problems(
        supabase={"poolMode": "session", "connectionsPerInstance": 5, "otherClients": 10},
        render={"maxInstances": 3},
    )
    assert problem.startswith("platform:supabase.poolMode: 3 API instances")
    assert "= 25" in problem and "only the pool size, 15 clients" in problem


def test_session_mode_fits_exactly_the_pool_size_and_transaction_mode_the_client_limit():
    fits = {**STANDALONE, **TEAM, "platform:render": {"maxInstances": 3}}
    session = run_stack(STACK, config={**fits, "platform:supabase": {"poolMode": "session"}})
    assert env_of(session)["DATABASE_POOL_MAX"] == "5"  # 3 x 5 = 15: the nano pool size

    # Transaction mode admits the compute's pooler client limit: 200 on nano
    # (https://supabase.com/docs/guides/platform/compute-add-ons, "Connections: Pooler").
    run_stack(STACK, config={**fits, "platform:supabase": {"connectionsPerInstance": 60, "otherClients": 20}})
    [problem] = pooler_problems(
        supabase={"connectionsPerInstance": 60, "otherClients": 21}, render={"maxInstances": 3}
    )
    assert "= 201" in problem and "transaction mode admits 200 clients" in problem


def test_a_larger_compute_raises_the_limits():
    # Small: pooler max clients 400 (compute-add-ons); on the pro plan only.
    run_stack(
        STACK,
        config={
            **STANDALONE,
            **TEAM,
            "platform:supabase": {"plan": "pro", "computeSize": "small", "connectionsPerInstance": 100},
            "platform:render": {"maxInstances": 4},
        },
    )
    [problem] = pooler_problems(supabase={"computeSize": "small"})
    assert problem.startswith("platform:supabase.computeSize: the free plan runs on 'nano' only")


# -- dropping Vercel once the web is on AWS (docs/migration.md, 5.2) ----------------------------

VERCEL_DROPPED = {"platform:vercel": {"enabled": False}, "platform:dns": {"domain": "example.com"}}


@pytest.fixture(scope="module")
def without_vercel():
    return run_stack(STACK, VERCEL_DROPPED)


def test_without_vercel_no_vercel_resource_is_registered(without_vercel, run):
    assert any(r.type.startswith("vercel:") for r in run.resources)  # the committed stack has them
    assert [
        r.type for r in without_vercel.resources if r.type.startswith(("vercel:", "platform:vercel:"))
    ] == []
    # Render and the data stay: only the web left this stack.
    assert without_vercel.one(SERVICE) and without_vercel.one(SUPABASE)


def test_without_vercel_the_api_trusts_the_webs_name_on_aws(without_vercel):
    # The commercial stack serves www.<domain> by then; the API's CORS origin stays that name.
    assert env_of(without_vercel)["WEB_ORIGIN"] == "https://www.example.com"


def test_without_vercel_the_stack_exports_no_web_url(without_vercel):
    assert "webUrl" not in without_vercel.outputs
    assert without_vercel.output("apiUrl") == without_vercel.one(SERVICE).outputs["serviceDetails"]["url"]
    assert "vercel" not in without_vercel.output("dashboards")


def test_without_vercel_the_cost_model_drops_its_line(without_vercel, configured):
    from tools import cost
    from tools.preview import settings_of

    with_vercel = cost.estimate(configured, settings_of(configured))
    dropped = cost.estimate(without_vercel, settings_of(without_vercel))
    assert "Vercel pro (vendor)" in {line.item for line in with_vercel.lines}
    assert not any(line.item.startswith("Vercel") for line in dropped.lines)
    # Vercel Pro is $20 per seat a month (vercel.com/pricing); the model counts one seat.
    assert round(with_vercel.total - dropped.total, 2) == 20.0
