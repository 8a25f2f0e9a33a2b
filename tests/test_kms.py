"""StackKey: the stack's customer-managed key and who may use it."""

from __future__ import annotations

import json

import pytest

from components.kms import StackKey, StackKeyArgs
from components.settings import SecuritySettings
from tools.harness import Run, run_stack
from tools.mocks import ACCOUNT_ID

CONFIG = {"aws:region": "ap-northeast-1", "platform:topology": "staging"}
REGION = "ap-northeast-1"
# Not the default, so a hard-coded value cannot pass.
DELETION_WINDOW = 7


def _key(region: str = REGION, protect: bool = False) -> StackKey:
    return StackKey(
        "key",
        StackKeyArgs(
            settings=SecuritySettings(kms_deletion_window_days=DELETION_WINDOW),
            name_prefix="platform-staging",
            region=region,
            protect=protect,
        ),
    )


@pytest.fixture(scope="module")
def run() -> Run:
    return run_stack("staging", config=CONFIG, program=_key)


def _statements(document: str) -> list[dict]:
    return json.loads(document)["Statement"]


def _as_list(value: str | list[str]) -> list[str]:
    return value if isinstance(value, list) else [value]


def test_key_rotates_and_keeps_the_configured_deletion_window(run: Run) -> None:
    key = run.one("aws:kms/key:Key")
    assert key["enableKeyRotation"] is True
    assert key["deletionWindowInDays"] == DELETION_WINDOW


def test_alias_names_the_stack_and_points_at_the_key(run: Run) -> None:
    alias = run.one("aws:kms/alias:Alias")
    assert alias["name"] == "alias/platform-staging"
    assert alias["targetKeyId"] == run.one("aws:kms/key:Key").id


def test_key_policy_lets_the_account_administer_it(run: Run) -> None:
    statements = _statements(run.one("aws:kms/key:Key")["policy"])
    admin = [s for s in statements if s.get("Principal") == {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}]
    assert len(admin) == 1 and admin[0]["Effect"] == "Allow" and admin[0]["Action"] == "kms:*"


def test_key_policy_lets_cloudwatch_logs_encrypt_only_this_accounts_log_groups(run: Run) -> None:
    statements = _statements(run.one("aws:kms/key:Key")["policy"])
    [logs] = [s for s in statements if s.get("Principal") == {"Service": f"logs.{REGION}.amazonaws.com"}]
    assert "kms:GenerateDataKey*" in logs["Action"] and "kms:Decrypt*" in logs["Action"]
    context = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert context == f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:*"


def test_key_policy_lets_alarms_and_budgets_publish_to_the_encrypted_alarm_topic(run: Run) -> None:
    statements = _statements(run.one("aws:kms/key:Key")["policy"])
    for service in ("cloudwatch.amazonaws.com", "budgets.amazonaws.com"):
        [statement] = [s for s in statements if s.get("Principal") == {"Service": service}]
        assert sorted(_as_list(statement["Action"])) == ["kms:Decrypt", "kms:GenerateDataKey*"]


def test_key_policy_grants_no_other_principal(run: Run) -> None:
    statements = _statements(run.one("aws:kms/key:Key")["policy"])
    assert all(s["Effect"] == "Allow" for s in statements)
    assert [s["Principal"] for s in statements] == [
        {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
        {"Service": f"logs.{REGION}.amazonaws.com"},
        {"Service": "cloudwatch.amazonaws.com"},
        {"Service": "budgets.amazonaws.com"},
    ]


def test_key_in_another_region_serves_that_regions_log_groups() -> None:
    run = run_stack("staging", config=CONFIG, program=lambda: _key(region="us-east-1"))
    key = run.one("aws:kms/key:Key")
    assert key["region"] == "us-east-1"
    [logs] = [s for s in _statements(key["policy"]) if s["Sid"].startswith("CloudWatchLogs")]
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"].startswith(
        "arn:aws:logs:us-east-1:"
    )


def test_production_keys_are_protected(run: Run) -> None:
    assert not run.one("aws:kms/key:Key").protect
    production = run_stack("staging", config=CONFIG, program=lambda: _key(protect=True))
    assert production.one("aws:kms/key:Key").protect


def test_only_the_edge_key_lets_log_delivery_write_this_accounts_log_groups(run: Run) -> None:
    assert not [
        s for s in _statements(run.one("aws:kms/key:Key")["policy"]) if "delivery" in str(s["Principal"])
    ]
    edge = run_stack(
        "staging",
        config=CONFIG,
        program=lambda: StackKey(
            "edge",
            StackKeyArgs(
                settings=SecuritySettings(),
                name_prefix="platform-staging-edge",
                region="us-east-1",
                vended_log_delivery=True,
            ),
        ),
    )
    statements = _statements(edge.one("aws:kms/key:Key")["policy"])
    [delivery] = [s for s in statements if s["Principal"] == {"Service": "delivery.logs.amazonaws.com"}]
    assert delivery["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT_ID
    context = delivery["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert context == f"arn:aws:logs:us-east-1:{ACCOUNT_ID}:log-group:*"
