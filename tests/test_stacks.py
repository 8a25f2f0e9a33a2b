"""Every committed stack file, evaluated whole under the mocks."""

import re

import pulumi_aws as aws
import pytest
import yaml
from pulumi.runtime.mocks import MockResourceArgs

from components.settings import SettingsError
from tests.conftest import committed_run
from tools.harness import ROOT_DIR, Run, last_run, run_stack, stack_config, stack_names
from tools.mocks import Autonaming, RecordingMocks, Secret, reveal

AWS_STACKS = ("staging", "prod-commercial")


def test_the_three_stacks_of_the_design_are_committed() -> None:
    assert set(stack_names()) >= {"staging", "prod-precommercial", "prod-commercial"}


def test_each_stack_evaluates_and_exports_its_topology(any_stack_run: Run) -> None:
    expected = {"staging": "staging", "prod-precommercial": "pre-commercial", "prod-commercial": "commercial"}
    assert any_stack_run.outputs["topology"] == expected[any_stack_run.stack]
    assert any_stack_run.resources


def test_no_stack_output_carries_a_secret_in_plain(any_stack_run: Run) -> None:
    secrets = {
        str(r.outputs.get(key))
        for r in any_stack_run.resources
        for key in ("result", "password", "connectionUri", "url")
        if isinstance(r.inputs.get(key), Secret) or r.type.startswith("random:")
    }
    for name, value in any_stack_run.outputs.items():
        if isinstance(value, Secret):
            continue
        assert str(value) not in secrets, name


def test_every_resource_sits_inside_a_component_and_carries_its_name(any_stack_run: Run) -> None:
    for resource in any_stack_run.resources:
        parent = (
            any_stack_run.component_of(resource) if resource.custom else any_stack_run.by_urn(resource.parent)
        )
        if resource.custom:
            assert parent is not None, resource.name
        if parent is not None:
            assert resource.name.startswith(parent.name), (resource.name, parent.name)


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_aws_stacks_run_in_tokyo_with_default_tags(stack: str) -> None:
    config = yaml.safe_load((ROOT_DIR / f"Pulumi.{stack}.yaml").read_text())["config"]
    assert config["aws:region"] == "ap-northeast-1"
    assert config["aws:defaultTags"]["tags"] == {
        "project": "platform",
        "stack": stack,
        "managed-by": "pulumi",
    }


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ({"platform:topology": "bogus"}, "platform:topology"),
        ({"platform:computee": {"cpu": 256}}, "platform:computee"),
        ({"platform:network": {"cidr": "10.0.0.0/33"}}, "platform:network.cidr"),
        ({"platform:network": {"azCount": 4}}, "platform:network.azCount"),  # Tokyo offers three
    ],
)
@pytest.mark.parametrize("stack", AWS_STACKS)
def test_bad_config_fails_naming_the_key_and_registers_nothing(stack: str, override: dict, key: str) -> None:
    with pytest.raises(SettingsError) as error:
        run_stack(stack, override)
    assert key in str(error.value)
    run = last_run()
    assert run is not None and run.resources == []


def test_staging_and_commercial_span_two_zones() -> None:
    # Two AZs is what an ALB needs ("at least two Availability Zones", ELB User Guide) and what
    # keeps commercial serving when one fails; a third would only add a NAT instance.
    for stack in ("staging", "prod-commercial"):
        assert len(committed_run(stack).output("availabilityZones")) == 2


def test_placeholders_warn_in_a_preview_and_stop_an_update_before_any_resource() -> None:
    preview = committed_run("prod-commercial")
    assert any(
        w.startswith("platform:atlas.orgId still holds the committed placeholder") for w in preview.warnings
    )
    with pytest.raises(SettingsError) as error:
        run_stack("prod-commercial", preview=False)
    assert (
        "platform:dns.domain: 'example.com' is the committed placeholder; set the real value"
        in error.value.problems
    )
    assert last_run().resources == []


def test_an_update_with_real_values_goes_ahead() -> None:
    real = {
        "platform:dns": {"domain": "platform.jp"},
        "platform:monitoring": {"alarmEmail": "ops@platform.jp"},
        "platform:atlas": {"orgId": "5f1a2b3c4d5e6f7a8b9c0d1e"},
        "platform:sentry": {"organization": "platform-jp"},
    }
    run = run_stack("prod-commercial", real, preview=False)
    assert run.output("apiUrl") == "https://api.platform.jp"
    assert not [w for w in run.warnings if "placeholder" in w]


# Properties that hold a resource's own physical name, and the types whose name only has to be
# unique inside a parent resource that itself carries the stack's name.
PHYSICAL_NAME_KEYS = ("name", "namePrefix", "bucket", "identifier", "clusterIdentifier", "slug")
NAMED_INSIDE_A_PARENT = {
    # An Atlas cluster's name is unique within its project, whose name is the stack's prefix.
    "mongodbatlas:index/advancedCluster:AdvancedCluster",
}


def _physical_names(run: Run) -> dict[str, str]:
    names = {}
    for resource in run.resources:
        if not resource.custom or resource.type in NAMED_INSIDE_A_PARENT:
            continue
        state = {**resource.plain_inputs, **reveal(resource.outputs)}
        keys = PHYSICAL_NAME_KEYS + (
            ("family",) if resource.type == "aws:ecs/taskDefinition:TaskDefinition" else ()
        )
        for key in keys:
            if isinstance(state.get(key), str):
                names[state[key]] = f"{resource.name}.{key}"
    return names


def test_two_stacks_of_one_topology_share_no_physical_name() -> None:
    # The same stack file under a second stack name: the logical names, and so the URNs' name
    # parts, are the same, and every physical name differs (explicit ones carry the stack's
    # prefix, autonamed ones get it from Pulumi.yaml's pulumi:autonaming pattern).
    # The host names are the stack file's own choice (two stacks on one domain choose different
    # subdomains), so the second stack serves its own.
    first = committed_run("staging")
    hosts = {"platform:services": {"api": {"subdomain": "api-staging2"}, "web": {"subdomain": "staging2"}}}
    second = run_stack("staging2", config={**stack_config("staging"), **hosts})
    assert {_without_hosts(r.urn.rsplit("::", 1)[1], first) for r in first.resources} == {
        _without_hosts(r.urn.rsplit("::", 1)[1], second) for r in second.resources
    }
    shared = set(_physical_names(first)) & set(_physical_names(second))
    assert not shared, {name: _physical_names(first)[name] for name in shared}
    # An autonamed security group, as the pattern ${project}-${stack}-${name}-${hex(7)} expands.
    group = second.named("network-nat-sg")
    assert re.fullmatch(r"platform-staging2-network-nat-sg-[0-9a-f]{7}", group.outputs["name"])


def _without_hosts(logical: str, run: Run) -> str:
    """A logical name with the served host names it is made of (a certificate's validation
    records are named after their names) taken out: those are config, not the stack's name."""
    for name in ("apiUrl", "webUrl"):
        url = run.outputs.get(name)
        if url is not None:
            logical = logical.replace(reveal(url).split("://", 1)[1].replace(".", "-"), "<host>")
    return logical


def test_no_logical_name_carries_the_stack_name(any_stack_run: Run) -> None:
    for resource in any_stack_run.resources:
        logical = _without_hosts(resource.urn.rsplit("::", 1)[1], any_stack_run)
        assert any_stack_run.stack not in logical and "platform-" not in logical, resource.urn


def test_an_autonamed_name_over_the_providers_limit_is_refused() -> None:
    # Under a pattern the provider takes the proposed name as is and refuses one over the
    # property's limit (64 for IAM roles) rather than truncating it as its default naming does:
    # platform-test-<43 characters>-<7 hex> is 65 characters, one less is 64.
    autonaming = Autonaming.of(
        {"pattern": "${project}-${stack}-${name}-${hex(7)}"}, project="platform", stack="test"
    )
    mocks = RecordingMocks(autonaming=autonaming)
    with pytest.raises(ValueError, match="exceeds maximum length of 64"):
        mocks.new_resource(MockResourceArgs("aws:iam/role:Role", "r" * 43, {}))
    _, state = mocks.new_resource(MockResourceArgs("aws:iam/role:Role", "r" * 42, {}))
    assert re.fullmatch(r"platform-test-r{42}-[0-9a-f]{7}", state["name"])


def test_stack_outputs_are_camel_case_and_name_the_api_alike(any_stack_run: Run) -> None:
    # One casing across topologies, so a script reads `apiUrl` from any stack.
    for name in any_stack_run.outputs:
        assert re.fullmatch(r"[a-z][a-zA-Z0-9]*", name), name
    assert any_stack_run.output("apiUrl").startswith("http")


def test_a_run_that_fails_while_registering_leaves_the_next_run_clean() -> None:
    # The mocks keep the runtime's outputs between runs; the harness drops a failed run's.
    autonaming = {"pulumi:autonaming": {"pattern": "${project}-${stack}-${name}-${hex(7)}"}}
    with pytest.raises(Exception, match="exceeds maximum length of 64"):
        run_stack("test", config=autonaming, program=lambda: aws.iam.Role("r" * 43, assume_role_policy="{}"))
    assert run_stack("staging").resources
