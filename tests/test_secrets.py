"""SecretParameters: KMS-encrypted SecureStrings whose values stay Pulumi secrets end to end."""

from __future__ import annotations

import re
from collections.abc import Mapping

import pulumi
import pytest

from components.secrets import SecretParameters, SecretParametersArgs
from tools.harness import Run, run_stack
from tools.mocks import ACCOUNT_ID, Secret

CONFIG = {"aws:region": "ap-northeast-1", "platform:topology": "staging"}
KEY_ARN = f"arn:aws:kms:ap-northeast-1:{ACCOUNT_ID}:key/0b1c2d3e-4f50-4a6b-8c7d-8e9f0a1b2c3d"
PARAMETER = "aws:ssm/parameter:Parameter"
PARAMETER_ARN_PREFIX = f"arn:aws:ssm:ap-northeast-1:{ACCOUNT_ID}:parameter"
# The first value is deliberately passed in the clear: the component must still make it secret.
VALUES = {
    "DATABASE_URL": "postgresql://app:pw@db.internal:5432/app?sslmode=require",
    "SENTRY_DSN": "https://key@o1.ingest.sentry.io/1",
}


def _parameters(values: Mapping[str, pulumi.Input[str]], prefix: str = "/platform/staging") -> None:
    args = SecretParametersArgs(parameter_prefix=prefix, kms_key_arn=KEY_ARN, values=values)
    SecretParameters("secrets", args)


@pytest.fixture(scope="module")
def run() -> Run:
    def program() -> None:
        _parameters({**VALUES, "SENTRY_DSN": pulumi.Output.secret(VALUES["SENTRY_DSN"])})

    return run_stack("staging", config=CONFIG, program=program)


def test_one_parameter_per_value_under_the_stack_prefix(run: Run) -> None:
    names = {p["name"] for p in run.of_type(PARAMETER)}
    assert names == {"/platform/staging/DATABASE_URL", "/platform/staging/SENTRY_DSN"}


def test_parameters_are_securestrings_encrypted_with_the_stack_key(run: Run) -> None:
    for parameter in run.of_type(PARAMETER):
        assert parameter["type"] == "SecureString"
        assert parameter["keyId"] == KEY_ARN
        assert parameter["tier"] == "Standard"


def test_values_are_recorded_as_secrets_even_when_passed_in_the_clear(run: Run) -> None:
    for parameter in run.of_type(PARAMETER):
        key = parameter["name"].rsplit("/", 1)[1]
        assert isinstance(parameter.inputs["value"], Secret), key
        assert parameter["value"] == VALUES[key]
        assert "insecureValue" not in parameter.inputs


def test_outputs_map_each_key_to_its_parameter(run: Run) -> None:
    outputs = run.one("platform:secrets:SecretParameters").outputs
    assert set(outputs["arns"]) == set(VALUES) == set(outputs["names"])
    for key in VALUES:
        assert outputs["names"][key] == f"/platform/staging/{key}"
        assert outputs["arns"][key] == f"{PARAMETER_ARN_PREFIX}/platform/staging/{key}"


@pytest.mark.parametrize("bad_key", ["database_url", "1PASSWORD", "API-KEY", "DD API KEY", ""])
def test_keys_that_are_not_env_var_names_are_rejected_by_name(bad_key: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(bad_key))):
        run_stack("staging", config=CONFIG, program=lambda: _parameters({"GOOD_KEY": "x", bad_key: "y"}))


@pytest.mark.parametrize("bad_prefix", ["platform/staging", "/platform/staging/", "/"])
def test_prefix_must_be_an_ssm_path(bad_prefix: str) -> None:
    with pytest.raises(ValueError, match="parameter_prefix"):
        run_stack("staging", config=CONFIG, program=lambda: _parameters({"GOOD_KEY": "x"}, prefix=bad_prefix))
