"""The stacks' config as the engine merges it: every committed stack passes, a required key left
out fails the way `pulumi preview` and `pulumi up` fail, before the program runs.

The harness's merge (tools/harness.py ``apply_project_config``) mirrors ``mergeConfig`` in
pulumi/pulumi pkg/workspace/config.go; the cases marked "engine test" take their inputs and the
expected messages from the engine's own tests in pkg/workspace/config_project_test.go, so the
oracle is the engine, not this project's code.
"""

from __future__ import annotations

import pytest

from components.settings import AWS_SECTIONS, MANAGED_SECTIONS, SECTIONS, TOPOLOGIES
from tools.harness import (
    StackConfigError,
    apply_project_config,
    project_file,
    run_stack,
    stack_config,
    stack_names,
)


@pytest.mark.parametrize("stack", stack_names())
def test_each_committed_stack_satisfies_its_projects_declarations(stack: str) -> None:
    apply_project_config(stack, stack_config(stack), project_file())


@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_the_topology_is_the_only_key_a_stack_must_set(topology: str) -> None:
    merged = apply_project_config("new", {"platform:topology": topology}, project_file())
    # Every section the stack leaves out reaches the program as an empty object (the preset
    # applies), including the sections another topology uses, which pre-commercial cannot set.
    assert {key: merged[f"platform:{key}"] for key in SECTIONS} == {key: {} for key in SECTIONS}


def test_a_stack_without_a_topology_fails_as_the_engine_fails() -> None:
    config = {k: v for k, v in stack_config("staging").items() if k != "platform:topology"}
    with pytest.raises(
        StackConfigError, match=r"^Stack 'staging' is missing configuration value 'topology'$"
    ):
        apply_project_config("staging", config, project_file())


def test_the_offline_run_refuses_a_missing_key_before_the_program_runs() -> None:
    ran: list[str] = []
    with pytest.raises(StackConfigError, match="missing configuration value 'topology'"):
        run_stack(
            "staging", {"platform:topology": None}, program=lambda: ran.append("program"), engine_config=True
        )
    assert ran == []


def test_a_section_that_is_not_an_object_is_refused_by_the_engine() -> None:
    config = {**stack_config("staging"), "platform:compute": "512"}
    with pytest.raises(StackConfigError, match="key 'compute' must be of type 'object'"):
        apply_project_config("staging", config, project_file())


def test_pre_commercial_runs_with_the_aws_sections_the_engine_fills_in() -> None:
    run = run_stack("prod-precommercial")
    assert all(run.config[f"platform:{s}"] == {} for s in AWS_SECTIONS)
    assert run.resources, "the program ran"


def test_aws_stacks_run_with_the_managed_sections_the_engine_fills_in() -> None:
    run = run_stack("staging")
    assert all(run.config[f"platform:{s}"] == {} for s in MANAGED_SECTIONS)


# Engine tests (pulumi/pulumi pkg/workspace/config_project_test.go), same inputs, same messages.
ENGINE_PROJECT = {"name": "test", "runtime": "dotnet"}


def test_engine_missing_two_values() -> None:
    # TestStackConfigErrorsWhenMissingTwoStackValueForConfigTypeWithNoDefault
    project = {
        **ENGINE_PROJECT,
        "config": {"another": {"type": "string"}, "values": {"type": "array", "items": {"type": "string"}}},
    }
    with pytest.raises(
        StackConfigError, match="Stack 'dev' is missing configuration values 'another' and 'values'"
    ):
        apply_project_config("dev", {}, project)


def test_engine_missing_three_values() -> None:
    # TestStackConfigErrorsWhenMissingMultipleStackValueForConfigTypeWithNoDefault
    project = {
        **ENGINE_PROJECT,
        "config": {
            "hello": {"type": "integer"},
            "values": {"type": "array", "items": {"type": "string"}},
            "world": {"type": "string"},
        },
    }
    with pytest.raises(
        StackConfigError, match="Stack 'dev' is missing configuration values 'hello', 'values' and 'world'"
    ):
        apply_project_config("dev", {}, project)


def test_engine_integer_type() -> None:
    # TestStackConfigIntegerTypeIsCorrectlyValidated
    project = {**ENGINE_PROJECT, "config": {"importantNumber": {"type": "integer"}}}
    apply_project_config("dev", {"test:importantNumber": 20}, project)
    with pytest.raises(StackConfigError, match="key 'importantNumber' must be of type 'integer'"):
        apply_project_config("dev", {"test:importantNumber": "hello"}, project)


def test_engine_array_of_strings_type() -> None:
    # TestStackConfigArrayOfStringsTypeIsCorrectlyValidated-style: a string is not an array<string>
    project = {**ENGINE_PROJECT, "config": {"values": {"type": "array", "items": {"type": "string"}}}}
    apply_project_config("dev", {"test:values": ["a", "b"]}, project)
    with pytest.raises(StackConfigError, match="key 'values' must be of type 'array<string>'"):
        apply_project_config("dev", {"test:values": "a"}, project)


def test_engine_no_declarations_no_requirements() -> None:
    # TestStackConfigDoesNotErrorWhenProjectHasNotDefinedConfig
    assert apply_project_config("dev", {"test:hello": 21}, ENGINE_PROJECT) == {"test:hello": 21}


def test_engine_default_fills_in_and_stack_value_wins() -> None:
    project = {**ENGINE_PROJECT, "config": {"size": {"type": "integer", "default": 3}}}
    assert apply_project_config("dev", {}, project)["test:size"] == 3
    assert apply_project_config("dev", {"test:size": 5}, project)["test:size"] == 5


def test_engine_project_validation() -> None:
    # Project.Validate (sdk/go/common/workspace/project.go)
    both = {**ENGINE_PROJECT, "config": {"x": {"default": 1, "value": 2}}}
    with pytest.raises(StackConfigError, match="cannot have both a 'default' and 'value' attribute"):
        apply_project_config("dev", {}, both)
    untyped_array = {**ENGINE_PROJECT, "config": {"x": {"type": "array"}}}
    with pytest.raises(StackConfigError, match="does not specify the underlying type"):
        apply_project_config("dev", {}, untyped_array)
    bad_default = {**ENGINE_PROJECT, "config": {"x": {"type": "object", "default": "nope"}}}
    with pytest.raises(StackConfigError, match="default value specified for configuration key 'x'"):
        apply_project_config("dev", {}, bad_default)


def test_engine_namespaced_project_config_should_not_be_explicitly_typed() -> None:
    # engine test: TestNamespacedProjectConfigShouldNotBeExplicitlyTyped
    project = {
        **ENGINE_PROJECT,
        "config": {"aws:region": {"type": "string", "value": {"region": "us-west-1"}}},
    }
    with pytest.raises(
        StackConfigError,
        match="Configuration key 'aws:region' is not namespaced by the project and should not define a type",
    ):
        apply_project_config("dev", {}, project)


def test_engine_namespaced_project_config_should_not_provide_default() -> None:
    # engine test: TestNamespacedProjectConfigShouldNotBeProvideDefault
    project = {**ENGINE_PROJECT, "config": {"aws:region": {"default": "us-west-1"}}}
    with pytest.raises(StackConfigError) as refused:
        apply_project_config("dev", {}, project)
    assert (
        "Configuration key 'aws:region' is not namespaced by the project and should not define a default value"
        in str(refused.value)
    )
    assert "Did you mean to use the 'value' attribute instead of 'default'?" in str(refused.value)


AUTONAMING = {"pattern": "${project}-${stack}-${name}-${hex(7)}"}


def test_project_autonaming_reaches_every_stack_that_sets_none() -> None:
    # pulumi:autonaming is not in the project's namespace, so Pulumi.yaml wraps it in `value`
    # (Pulumi docs, "Configuring Auto-Naming"); mergeConfig gives the value to a stack that does
    # not set the key, and a stack's own setting wins.
    project = {**ENGINE_PROJECT, "config": {"pulumi:autonaming": {"value": AUTONAMING}}}
    assert apply_project_config("dev", {}, project)["pulumi:autonaming"] == AUTONAMING
    own = {"pulumi:autonaming": {"mode": "verbatim"}}
    assert apply_project_config("dev", own, project)["pulumi:autonaming"] == {"mode": "verbatim"}


def test_project_autonaming_outside_a_value_is_refused() -> None:
    # The project schema's configTypeDeclaration allows no other attribute
    # (sdk/go/common/workspace/project.json, additionalProperties: false).
    project = {**ENGINE_PROJECT, "config": {"pulumi:autonaming": AUTONAMING}}
    with pytest.raises(StackConfigError, match="'pattern' not allowed"):
        apply_project_config("dev", {}, project)
    described_only = {**ENGINE_PROJECT, "config": {"pulumi:autonaming": {"description": "names"}}}
    with pytest.raises(StackConfigError, match="is namespaced and must provide an attribute 'value'"):
        apply_project_config("dev", {}, described_only)
