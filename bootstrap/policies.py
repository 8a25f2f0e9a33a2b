"""The IAM policy documents of the bootstrap (bootstrap/github_oidc.py): the roles' trust, the
permissions boundary of each environment, the deploy and preview roles' inline policies, and the
state backend's key and bucket policies, with the action lists they are made of."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

GITHUB_ISSUER = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
# The tag the program's aws:defaultTags put on every resource (Pulumi.<stack>.yaml); the deploy
# roles' resource scoping and the budgets' cost filters both key on it.
STACK_TAG = "stack"

# Reads that return data rather than configuration. ReadOnlyAccess allows several of them; a
# pull request's code must not be able to read production secrets, logs or data through them.
DATA_READS = [
    "ssm:GetParameter",
    "ssm:GetParameters",
    "ssm:GetParametersByPath",
    "ssm:GetParameterHistory",
    "secretsmanager:GetSecretValue",
    "logs:GetLogEvents",
    "logs:FilterLogEvents",
    "logs:StartQuery",
    "logs:GetQueryResults",
    "logs:StartLiveTail",
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "ec2:GetPasswordData",
    "rds:DownloadDBLogFilePortion",
    "rds:DownloadCompleteDBLogFile",
    "lambda:GetFunction",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchGetImage",
    "athena:GetQueryResults",
]
# Writes that can widen a role: allowed only when the role carries the environment's boundary
# (the `iam:PermissionsBoundary` condition key holds the role's boundary after the call; IAM User
# Guide, access_policies_boundaries.html, "Delegating responsibility to others").
BOUNDED_ROLE_WRITES = [
    "iam:CreateRole",
    "iam:PutRolePolicy",
    "iam:AttachRolePolicy",
    "iam:PutRolePermissionsBoundary",
]
ROLE_WRITES = [
    "iam:DeleteRole",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
    "iam:UpdateAssumeRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
]
POLICY_WRITES = [
    "iam:CreatePolicy",
    "iam:DeletePolicy",
    "iam:CreatePolicyVersion",
    "iam:DeletePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:TagPolicy",
    "iam:UntagPolicy",
]
# The pre-commercial backup job's writer is an IAM user (Render has no identity AWS can trust):
# created, or given a policy, only with the environment's boundary, like the roles.
BOUNDED_USER_WRITES = ["iam:CreateUser", "iam:PutUserPolicy", "iam:PutUserPermissionsBoundary"]
USER_WRITES = [
    "iam:DeleteUser",
    "iam:TagUser",
    "iam:UntagUser",
    "iam:DeleteUserPolicy",
    "iam:CreateAccessKey",
    "iam:DeleteAccessKey",
    "iam:UpdateAccessKey",
]
IAM_WRITES = [*BOUNDED_ROLE_WRITES, *ROLE_WRITES, "iam:DeleteRolePermissionsBoundary", *POLICY_WRITES]
# Never attachable by a deploy role, whatever role it manages.
BROAD_POLICIES = [
    "arn:aws:iam::aws:policy/AdministratorAccess",
    "arn:aws:iam::aws:policy/IAMFullAccess",
    "arn:aws:iam::aws:policy/PowerUserAccess",
]
# The services the program hands its roles to.
PASSED_TO_SERVICES = [
    "ecs-tasks.amazonaws.com",
    "scheduler.amazonaws.com",
    "vpc-flow-logs.amazonaws.com",
    "events.amazonaws.com",
    "monitoring.rds.amazonaws.com",
    "delivery.logs.amazonaws.com",
    # The log path to Datadog (components/log_shipping.py): CloudWatch Logs' subscription role
    # (PutSubscriptionFilter passes it) and Firehose's delivery role (CreateDeliveryStream).
    "logs.amazonaws.com",
    "firehose.amazonaws.com",
]
# What a bounded role can never do, whatever its own policies say: no IAM at all (so it cannot
# create or widen a role either), nothing on the organization or the account. This mirrors what
# PowerUserAccess leaves out, so a bounded role never exceeds the deploy role that made it.
BOUNDARY_EXCLUDES = ["iam:*", "organizations:*", "account:*"]
BOUNDARY_READS = [
    "iam:Get*",
    "iam:List*",
    "iam:GenerateCredentialReport",
    "organizations:Describe*",
    "organizations:List*",
    "account:Get*",
    "account:List*",
]
STATE_OBJECT_ACTIONS = [
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
]
STATE_LIST_ACTIONS = ["s3:ListBucket", "s3:ListBucketVersions"]
BUCKET_CONFIG_WRITES = [
    "s3:DeleteBucket",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "s3:PutBucketVersioning",
    "s3:PutEncryptionConfiguration",
    "s3:PutLifecycleConfiguration",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutBucketOwnershipControls",
    "s3:PutBucketAcl",
    "s3:PutBucketTagging",
    "s3:PutBucketObjectLockConfiguration",
]
KEY_ADMINISTRATION = [
    "kms:ScheduleKeyDeletion",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:PutKeyPolicy",
    "kms:CreateGrant",
    "kms:UpdateKeyDescription",
    "kms:CreateAlias",
    "kms:UpdateAlias",
    "kms:DeleteAlias",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ImportKeyMaterial",
    "kms:DeleteImportedKeyMaterial",
]


@dataclass(frozen=True)
class State:
    """The self-managed backend: the state bucket, its key, and each environment's secrets key."""

    bucket: aws.s3.Bucket
    bucket_key: aws.kms.Key
    secrets_keys: dict[str, aws.kms.Key]

    def object_arns(self, prefix: str) -> pulumi.Output[str]:
        return pulumi.Output.concat(self.bucket.arn, "/", prefix, "/*")

    def key_arns(self) -> list[pulumi.Output[str]]:
        return [self.bucket_key.arn, *(key.arn for key in self.secrets_keys.values())]


def _sid(*words: str) -> str:
    """A statement id (IAM allows only letters and digits) from words such as environment names."""
    return "".join(part.capitalize() for word in words for part in re.split(r"[^A-Za-z0-9]+", word))


def _document(statements: list[dict[str, Any]]) -> pulumi.Output[str]:
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements})


def trust_policy(provider_arn: pulumi.Input[str], subjects: list[str]) -> pulumi.Output[str]:
    """A role's trust: GitHub's OIDC tokens for this audience and exactly these ``sub`` values."""
    return _document(
        [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {f"{GITHUB_ISSUER}:aud": AUDIENCE, f"{GITHUB_ISSUER}:sub": subjects}
                },
            }
        ]
    )


def _stack_guard(env: str, state: State | None) -> list[dict[str, Any]]:
    """What environment ``env``'s deploy role and every role it creates can never do: touch a
    resource tagged as another stack, tag anything as another stack, or administer the
    bootstrap's keys. The guard is in the deploy role's policy and in the boundary alike, so
    a role made by the deploy role is never wider than the deploy role.

    ``aws:ResourceTag`` is evaluated only by actions whose resource supports tag-based access
    (Service Authorization Reference, per service); where it is absent (untagged resources, S3
    objects, Route 53 record sets, List/Describe calls) the statement does not apply. The state
    bucket and its key carry the bootstrap's own tag and are guarded separately (bucket policy
    and the key-administration denial), so they are exempt here."""
    foreign: dict[str, Any] = {
        "Sid": "NoOtherStacksResources",
        "Effect": "Deny",
        "Action": "*",
        "Condition": {
            "StringNotEquals": {f"aws:ResourceTag/{STACK_TAG}": env},
            "Null": {f"aws:ResourceTag/{STACK_TAG}": "false"},
        },
    }
    if state:
        foreign["NotResource"] = [
            state.bucket.arn,
            pulumi.Output.concat(state.bucket.arn, "/*"),
            state.bucket_key.arn,
        ]
    else:
        foreign["Resource"] = "*"
    guard: list[dict[str, Any]] = [
        foreign,
        {
            "Sid": "TagOnlyAsThisStack",
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {
                "StringNotEquals": {f"aws:RequestTag/{STACK_TAG}": env},
                "Null": {f"aws:RequestTag/{STACK_TAG}": "false"},
            },
        },
    ]
    if state:
        guard.append(
            {
                "Sid": "NoBootstrapKeyAdministration",
                "Effect": "Deny",
                "Action": KEY_ADMINISTRATION,
                "Resource": state.key_arns(),
            }
        )
    return guard


def boundary_policy(env: str, state: State | None) -> pulumi.Output[str]:
    """The permissions boundary of stack ``env``: at most what its deploy role may do."""
    return _document(
        [
            {
                "Sid": "AtMostWhatTheDeployRoleMayDo",
                "Effect": "Allow",
                "NotAction": BOUNDARY_EXCLUDES,
                "Resource": "*",
            },
            # Reads only (Datadog's integration role attaches SecurityAudit).
            {
                "Sid": "ReadIamAndTheOrganization",
                "Effect": "Allow",
                "Action": BOUNDARY_READS,
                "Resource": "*",
            },
            *_stack_guard(env, state),
        ]
    )


def deploy_role_policy(
    env: str,
    *,
    boundary_arn: pulumi.Input[str],
    own_roles: pulumi.Input[str],
    own_users: pulumi.Input[str],
    own_policies: pulumi.Input[str],
    bootstrap_names: Sequence[pulumi.Input[str]],
    state: State | None,
) -> pulumi.Output[str]:
    """The deploy role's inline policy on top of PowerUserAccess: IAM for stack ``env``'s own
    roles, users and policies (``own_*``), bounded by ``boundary_arn``; never the bootstrap's
    own (``bootstrap_names``)."""
    statements: list[dict[str, Any]] = [
        {"Sid": "ReadIam", "Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"},
        {
            "Sid": "WidenOnlyBoundedRoles",
            "Effect": "Allow",
            "Action": BOUNDED_ROLE_WRITES,
            "Resource": own_roles,
            "Condition": {"StringEquals": {"iam:PermissionsBoundary": boundary_arn}},
        },
        {"Sid": "ManageTheStacksRoles", "Effect": "Allow", "Action": ROLE_WRITES, "Resource": own_roles},
        {
            "Sid": "CreateOnlyBoundedUsers",
            "Effect": "Allow",
            "Action": BOUNDED_USER_WRITES,
            "Resource": own_users,
            "Condition": {"StringEquals": {"iam:PermissionsBoundary": boundary_arn}},
        },
        {
            "Sid": "ManageTheStacksUsers",
            "Effect": "Allow",
            "Action": USER_WRITES,
            "Resource": own_users,
        },
        {
            "Sid": "ManageTheStacksPolicies",
            "Effect": "Allow",
            "Action": POLICY_WRITES,
            "Resource": own_policies,
        },
        {
            # Every role this pattern matches was created, or last given a boundary, by this
            # role under the condition above; the boundary can never be removed (below).
            "Sid": "PassTheStacksRolesToItsServices",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": own_roles,
            "Condition": {"StringEquals": {"iam:PassedToService": PASSED_TO_SERVICES}},
        },
        {
            "Sid": "NeverRemoveABoundary",
            "Effect": "Deny",
            "Action": ["iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary"],
            "Resource": "*",
        },
        {
            # The deploy and preview roles, and the boundaries themselves, even where
            # roleNamePrefix overlaps the program's names.
            "Sid": "NeverTouchTheBootstrap",
            "Effect": "Deny",
            "Action": [*IAM_WRITES, "iam:PassRole"],
            "Resource": list(bootstrap_names),
        },
        {
            "Sid": "NeverAttachBroadPolicies",
            "Effect": "Deny",
            "Action": ["iam:AttachRolePolicy", "iam:AttachUserPolicy", "iam:AttachGroupPolicy"],
            "Resource": "*",
            "Condition": {"ArnEquals": {"iam:PolicyARN": BROAD_POLICIES}},
        },
        *_stack_guard(env, state),
    ]
    return _document(statements)


def preview_role_policy(
    preview_stacks: Sequence[str], region: str, state: State | None
) -> pulumi.Output[str]:
    """The preview role's inline policy on top of ReadOnlyAccess: no data reads, and of the state
    backend only the preview stacks' state and secrets keys."""
    # No lock grant: the DIY backend's Preview never takes the stack lock (pulumi/pulumi
    # pkg/backend/diy/backend.go: Preview calls backend.Preview -> apply with DryRun; only
    # Update, Refresh, Destroy, Import, stack removal and rename call Lock), and nothing of a
    # dry run is written (no snapshot manager, no history). A write grant would only let a
    # pull request delete a running deploy's lock.
    object_reads: dict[str, Any] = {
        "Sid": "NoObjectReadsOutsideThePreviewState",
        "Effect": "Deny",
        "Action": ["s3:GetObject", "s3:GetObjectVersion"],
    }
    decryption: dict[str, Any] = {
        "Sid": "NoDecryptOutsideThePreviewKeys",
        "Effect": "Deny",
        "Action": ["kms:Decrypt", "kms:ReEncryptFrom"],
    }
    statements: list[dict[str, Any]] = [
        {"Sid": "NoDataReads", "Effect": "Deny", "Action": DATA_READS, "Resource": "*"},
        object_reads,
        decryption,
    ]
    if state:
        preview_keys = [state.secrets_keys[stack].arn for stack in preview_stacks]
        object_reads["NotResource"] = [state.object_arns(stack) for stack in preview_stacks]
        decryption["NotResource"] = [*preview_keys, state.bucket_key.arn]
        statements += [
            {
                "Sid": "DecryptThePreviewStacksSecrets",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": preview_keys,
            },
            {
                # The bucket key only through S3, which applies the object denial above.
                "Sid": "DecryptStateObjectsThroughS3",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": state.bucket_key.arn,
                "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
            },
            {
                "Sid": "ListOnlyThePreviewState",
                "Effect": "Deny",
                "Action": STATE_LIST_ACTIONS,
                "Resource": state.bucket.arn,
                "Condition": {"StringNotLike": {"s3:prefix": [f"{s}/*" for s in preview_stacks]}},
            },
        ]
    else:
        object_reads["Resource"] = "*"
        decryption["Resource"] = "*"
    return _document(statements)


def key_policy(account_id: pulumi.Input[str]) -> pulumi.Output[str]:
    """The state backend's keys: the account administers them through IAM policies (the roles'
    guards), so a key never becomes unmanageable."""
    return _document(
        [
            {
                "Sid": "AccountAdministers",
                "Effect": "Allow",
                "Principal": {"AWS": pulumi.Output.concat("arn:aws:iam::", account_id, ":root")},
                "Action": "kms:*",
                "Resource": "*",
            }
        ]
    )


def state_bucket_policy(
    state: State,
    *,
    roles_by_env: Mapping[str, Sequence[pulumi.Input[str]]],
    preview_role: pulumi.Input[str],
    ci_roles: Sequence[pulumi.Input[str]],
) -> pulumi.Output[str]:
    """TLS only; each environment's roles (``roles_by_env``: its deploy role and the roles of its
    stack, as ARN patterns) reach only their own prefix; the preview role writes nothing; no CI
    role (``ci_roles``) may change the bucket itself. Denials keyed on ``aws:PrincipalArn`` (the
    role's ARN for an assumed-role session) hold whatever the roles' own policies say."""
    bucket = state.bucket
    statements: list[dict[str, Any]] = [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket.arn, pulumi.Output.concat(bucket.arn, "/*")],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]
    for env, roles in roles_by_env.items():
        principals = {"aws:PrincipalArn": list(roles)}
        statements += [
            {
                "Sid": _sid("OnlyItsOwnState", env),
                "Effect": "Deny",
                "Principal": "*",
                "Action": STATE_OBJECT_ACTIONS,
                "NotResource": state.object_arns(env),
                "Condition": {"ArnLike": principals},
            },
            {
                "Sid": _sid("ListOnlyItsOwnState", env),
                "Effect": "Deny",
                "Principal": "*",
                "Action": STATE_LIST_ACTIONS,
                "Resource": bucket.arn,
                "Condition": {"ArnLike": principals, "StringNotLike": {"s3:prefix": f"{env}/*"}},
            },
        ]
    statements += [
        {
            "Sid": "PreviewsWriteNothing",
            "Effect": "Deny",
            "Principal": "*",
            "Action": ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"],
            "Resource": pulumi.Output.concat(bucket.arn, "/*"),
            "Condition": {"ArnEquals": {"aws:PrincipalArn": preview_role}},
        },
        {
            "Sid": "NoBucketChangesFromCi",
            "Effect": "Deny",
            "Principal": "*",
            "Action": BUCKET_CONFIG_WRITES,
            "Resource": bucket.arn,
            "Condition": {"ArnLike": {"aws:PrincipalArn": list(ci_roles)}},
        },
    ]
    return _document(statements)
