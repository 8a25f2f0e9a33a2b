"""Every committed stack file, evaluated whole under the mocks."""

import pytest
import yaml

from components.settings import SettingsError
from tests.conftest import committed_run
from tools.harness import ROOT_DIR, Run, last_run, run_stack, stack_names
from tools.mocks import Secret

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


def test_staging_and_commercial_differ_in_zones() -> None:
    staging, commercial = committed_run("staging"), committed_run("prod-commercial")
    assert len(staging.output("availabilityZones")) == 2
    assert len(commercial.output("availabilityZones")) == 3


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
    assert run.output("url") == "https://api.platform.jp"
    assert not [w for w in run.warnings if "placeholder" in w]
