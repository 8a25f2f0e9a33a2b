"""The stack's customer-managed KMS key, one per region the stack keeps data in."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.outputs import publish
from components.settings import SecuritySettings


@dataclass(frozen=True)
class StackKeyArgs:
    settings: SecuritySettings
    """The ``platform:security`` section (deletion window)."""
    name_prefix: str
    """Physical-name prefix of the stack, e.g. ``platform-staging``; the alias is ``alias/<prefix>``."""
    region: str
    """Region of the key. CloudWatch Logs, SNS and RDS only use a key from their own region, so a
    stack with CloudFront also gets a us-east-1 key for its edge logs and alarms."""
    purpose: str = "logs, secrets and data at rest"
    """What the key encrypts, for its description."""
    protect: bool = False
    """Protect the key from ``pulumi destroy`` (where it encrypts production data)."""
    vended_log_delivery: bool = False
    """Let CloudWatch Logs' delivery service (delivery.logs.amazonaws.com) write with the key, for
    log groups that receive vended logs such as CloudFront's and WAF's."""


class StackKey(pulumi.ComponentResource):
    """A symmetric key with rotation, usable by this account's log groups, alarms and budgets."""

    key_arn: pulumi.Output[str]
    """The key's ARN."""
    key_id: pulumi.Output[str]
    """The key's id."""
    alias_name: str
    """``alias/<name_prefix>``."""

    def __init__(self, name: str, args: StackKeyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:kms:StackKey", name, None, opts)
        region = args.region
        account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        log_groups = pulumi.Output.concat("arn:aws:logs:", region, ":", account_id, ":log-group:*")
        vended_delivery = [
            {
                "Sid": "LogDeliveryWritesThisAccountsLogGroups",
                "Effect": "Allow",
                "Principal": {"Service": "delivery.logs.amazonaws.com"},
                "Action": ["kms:Encrypt", "kms:GenerateDataKey*", "kms:Decrypt"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account_id},
                    "ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups},
                },
            }
        ]
        policy = pulumi.Output.json_dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        # Delegates to IAM: the account's admins manage the key through IAM
                        # policies, and the key can never become unmanageable.
                        "Sid": "AccountAdministers",
                        "Effect": "Allow",
                        "Principal": {"AWS": pulumi.Output.concat("arn:aws:iam::", account_id, ":root")},
                        "Action": "kms:*",
                        "Resource": "*",
                    },
                    {
                        # CloudWatch Logs encrypts log groups with the key only on behalf of
                        # this account's log groups in this region.
                        "Sid": "CloudWatchLogsEncryptsThisAccountsLogGroups",
                        "Effect": "Allow",
                        "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                        "Action": [
                            "kms:Encrypt*",
                            "kms:Decrypt*",
                            "kms:ReEncrypt*",
                            "kms:GenerateDataKey*",
                            "kms:Describe*",
                        ],
                        "Resource": "*",
                        "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
                    },
                    {
                        # Alarm topics are encrypted with this key, and SNS lets a service publish
                        # only if it may use the key. AWS documents this statement without
                        # conditions; untested conditions here fail silently (no alarm).
                        "Sid": "CloudWatchAlarmsPublishToEncryptedTopics",
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudwatch.amazonaws.com"},
                        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                        "Resource": "*",
                    },
                    {
                        "Sid": "BudgetsPublishToEncryptedTopicsForThisAccount",
                        "Effect": "Allow",
                        "Principal": {"Service": "budgets.amazonaws.com"},
                        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                        "Resource": "*",
                        "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
                    },
                    *(vended_delivery if args.vended_log_delivery else []),
                ],
            }
        )
        key = aws.kms.Key(
            f"{name}-key",
            description=f"{args.name_prefix}: {args.purpose}",
            enable_key_rotation=True,
            deletion_window_in_days=args.settings.kms_deletion_window_days,
            policy=policy,
            region=region,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        alias_name = f"alias/{args.name_prefix}"
        aws.kms.Alias(
            f"{name}-alias",
            name=alias_name,
            target_key_id=key.key_id,
            region=region,
            opts=pulumi.ResourceOptions(parent=self),
        )
        publish(self, key_arn=key.arn, key_id=key.key_id, alias_name=alias_name)
