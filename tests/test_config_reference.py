"""The config reference in README.md and the declarations in Pulumi.yaml follow the settings."""

import yaml

from components.settings import CROSS_CHECKS, SECTIONS, entry_model
from tools.config_reference import (
    PROJECT_FILE,
    README,
    checks_reference,
    embedded,
    embedded_checks,
    reference,
)


def test_every_setting_is_documented() -> None:
    for section, model in SECTIONS.items():
        assert model.__doc__, section
        for name, field in entry_model(section).model_fields.items():
            assert field.description, f"platform:{section}.{field.alias or name} has no docstring"


def test_readme_reference_is_current() -> None:
    assert embedded(README.read_text()) == reference(), "run: make reference"


def test_readme_lists_every_cross_check() -> None:
    assert embedded_checks(README.read_text()) == checks_reference(), "run: make reference"
    listed = checks_reference().splitlines()[2:]
    assert len(listed) == len(CROSS_CHECKS)
    assert listed[0].startswith("| `platform:network.nat` | commercial | ")


def test_pulumi_yaml_declares_and_describes_every_key() -> None:
    # What the declarations do to a stack is tested against the engine's rules in
    # test_engine_config.py; here: nothing is undeclared or undocumented.
    declared = yaml.safe_load(PROJECT_FILE.read_text())["config"]
    assert set(declared) == {"pulumi:autonaming", "topology", *SECTIONS}
    assert all(entry["description"] for entry in declared.values())
    for section in SECTIONS:
        for name, field in entry_model(section).model_fields.items():
            assert (field.alias or name) in declared[section]["description"]


def test_project_runs_python_from_the_locked_environment() -> None:
    project = yaml.safe_load(PROJECT_FILE.read_text())
    assert project["name"] == "platform"
    assert project["runtime"]["name"] == "python"
    assert project["runtime"]["options"]["toolchain"] == "uv"


def test_pulumi_yaml_sets_a_per_stack_autonaming_pattern() -> None:
    # The logical names carry no stack, so the physical names of unnamed resources must get it
    # from the pattern; random digits keep create-before-replace (a pattern without them makes
    # the engine delete before replacing: pulumi/pulumi pkg/resource/autonaming/strategy.go).
    setting = yaml.safe_load(PROJECT_FILE.read_text())["config"]["pulumi:autonaming"]
    assert setting["value"] == {"pattern": "${project}-${stack}-${name}-${hex(7)}"}
