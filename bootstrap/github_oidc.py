"""GitHub Actions' way into one AWS account: the OIDC provider, one deploy role per GitHub
environment (each with the permissions boundary every role it creates must carry), a read-only
preview role for pull requests, and optionally the state bucket and per-environment secrets keys
of a self-managed Pulumi backend."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

GITHUB_ISSUER = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
MAX_SESSION_SECONDS = 7200  # a first commercial `pulumi up` (Aurora, CloudFront) can pass an hour
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
class GithubOidcArgs:
    repository: str
    """GitHub repository ``owner/name`` whose workflows may assume the roles."""
    environments: Sequence[str]
    """GitHub environments, one per stack of the same name; each gets its own deploy role."""
    preview_stacks: Sequence[str] = ("staging",)
    """Stacks (a subset of ``environments``) whose state pull-request previews may read."""
    preview_environment: str = "preview"
    """GitHub environment of the pull-request preview jobs."""
    role_name_prefix: str = "platform-github"
    """The roles are ``<prefix>-preview`` and ``<prefix>-<env>-deploy``, the boundaries
    ``<prefix>-<env>-boundary``."""
    managed_name_prefix: str = "platform"
    """IAM roles and policies environment ``env``'s deploy role may manage: ``<prefix>-<env>-*``."""
    existing_provider_arn: str | None = None
    """Reuse the account's GitHub OIDC provider instead of creating one."""
    state_backend: bool = False
    """Create the versioned, KMS-encrypted, TLS-only state bucket, its key and a secrets key per
    environment."""
    region: str = "ap-northeast-1"
    """Region of the state bucket and keys."""
    activate_stack_cost_tag: bool = False
    """Activate the ``stack`` tag for cost allocation (the budgets filter on it)."""


@dataclass(frozen=True)
class _State:
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


class GithubOidc(pulumi.ComponentResource):
    """Outputs: ``provider_arn``, ``preview_role_arn``, ``deploy_role_arns`` and ``boundary_arns``
    (by environment), ``preview_subjects`` and ``deploy_subjects`` (plain OIDC ``sub`` values each
    role trusts), and, when ``state_backend``: ``state_bucket_name``, ``backend_urls`` and
    ``secrets_providers`` (by environment); those are None or empty otherwise."""

    def __init__(self, name: str, args: GithubOidcArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:bootstrap:GithubOidc", name, None, opts)
        self._name = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        self._account_id = aws.get_caller_identity_output(
            opts=pulumi.InvokeOutputOptions(parent=self)
        ).account_id

        provider_arn = self._oidc_provider()
        repo = f"repo:{args.repository}"
        self.preview_subjects = [f"{repo}:environment:{args.preview_environment}"]
        self.deploy_subjects = {env: [f"{repo}:environment:{env}"] for env in args.environments}

        state = self._state_backend() if args.state_backend else None
        self.boundary_arns = {env: self._boundary(env, state) for env in args.environments}
        self.deploy_role_arns = {
            env: self._deploy_role(env, provider_arn, state) for env in args.environments
        }
        self.preview_role_arn = self._preview_role(provider_arn, state)
        if state:
            self._state_bucket_policy(state)
        if args.activate_stack_cost_tag:
            self._cost_allocation_tag()

        self.provider_arn = pulumi.Output.from_input(provider_arn)
        self.state_bucket_name = state.bucket.bucket if state else None
        self.backend_urls = (
            {env: pulumi.Output.concat("s3://", state.bucket.bucket, "/", env) for env in args.environments}
            if state
            else {}
        )
        self.secrets_providers = (
            {
                env: f"awskms://alias/{self._secrets_alias(env)}?region={args.region}"
                for env in args.environments
            }
            if state
            else {}
        )
        self.register_outputs(
            {
                "provider_arn": self.provider_arn,
                "preview_role_arn": self.preview_role_arn,
                "deploy_role_arns": self.deploy_role_arns,
                "boundary_arns": self.boundary_arns,
                "state_bucket_name": self.state_bucket_name,
                "backend_urls": self.backend_urls,
                "secrets_providers": self.secrets_providers,
            }
        )

    # -- Names ---------------------------------------------------------------------------------

    def _arn(self, kind: str, name: str) -> pulumi.Output[str]:
        return pulumi.Output.concat("arn:aws:iam::", self._account_id, f":{kind}/{name}")

    def _managed(self, env: str) -> str:
        """Names of environment ``env``'s own roles and policies (the program's stack ``env``)."""
        return f"{self._args.managed_name_prefix}-{env}-*"

    def _bootstrap_names(self) -> list[pulumi.Output[str]]:
        prefix = self._args.role_name_prefix
        return [self._arn("role", f"{prefix}-*"), self._arn("policy", f"{prefix}-*")]

    def _secrets_alias(self, env: str) -> str:
        return f"{self._args.managed_name_prefix}-pulumi-{env}"

    def _trust(self, provider_arn: pulumi.Input[str], subjects: list[str]) -> pulumi.Output[str]:
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

    # -- Steps ---------------------------------------------------------------------------------

    def _oidc_provider(self) -> pulumi.Input[str]:
        if self._args.existing_provider_arn:
            return self._args.existing_provider_arn
        # No thumbprint: AWS validates GitHub's certificate against its own trusted CAs.
        return aws.iam.OpenIdConnectProvider(
            f"{self._name}-provider",
            url=f"https://{GITHUB_ISSUER}",
            client_id_lists=[AUDIENCE],
            opts=self._child,
        ).arn

    def _stack_guard(self, env: str, state: _State | None) -> list[dict[str, Any]]:
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

    def _boundary(self, env: str, state: _State | None) -> pulumi.Output[str]:
        """The permissions boundary every role of stack ``env`` must carry (the program sets it on
        each role it creates: components/boundary.py)."""
        policy = aws.iam.Policy(
            f"{self._name}-{env}-boundary",
            name=f"{self._args.role_name_prefix}-{env}-boundary",
            description=f"Permissions boundary of every IAM role the {env} stack creates",
            policy=_document(
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
                    *self._stack_guard(env, state),
                ]
            ),
            opts=self._child,
        )
        return policy.arn

    def _deploy_role(
        self, env: str, provider_arn: pulumi.Input[str], state: _State | None
    ) -> pulumi.Output[str]:
        """``pulumi up`` of stack ``env``: trusted only by jobs of GitHub environment ``env``."""
        name = f"{self._name}-{env}-deploy"
        role = aws.iam.Role(
            name,
            name=f"{self._args.role_name_prefix}-{env}-deploy",
            description=f"pulumi up of the {env} stack from {self._args.repository} (environment {env})",
            assume_role_policy=self._trust(provider_arn, self.deploy_subjects[env]),
            max_session_duration=MAX_SESSION_SECONDS,
            opts=self._child,
        )
        # PowerUserAccess: the program spans VPC, ECS, ELB, RDS, CloudFront, WAF, KMS, SSM, S3,
        # Logs, SNS, Budgets, Scheduler and Route 53; listing each action would mean rewriting this
        # policy with every component. It excludes IAM (except service-linked roles), which the
        # inline policy grants only for this stack's own, bounded roles.
        aws.iam.RolePolicyAttachment(
            f"{name}-power-user",
            role=role.name,
            policy_arn="arn:aws:iam::aws:policy/PowerUserAccess",
            opts=self._child,
        )
        own_roles = self._arn("role", self._managed(env))
        own_policies = self._arn("policy", self._managed(env))
        statements: list[dict[str, Any]] = [
            {"Sid": "ReadIam", "Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"},
            {
                "Sid": "WidenOnlyBoundedRoles",
                "Effect": "Allow",
                "Action": BOUNDED_ROLE_WRITES,
                "Resource": own_roles,
                "Condition": {"StringEquals": {"iam:PermissionsBoundary": self.boundary_arns[env]}},
            },
            {"Sid": "ManageTheStacksRoles", "Effect": "Allow", "Action": ROLE_WRITES, "Resource": own_roles},
            {
                "Sid": "CreateOnlyBoundedUsers",
                "Effect": "Allow",
                "Action": BOUNDED_USER_WRITES,
                "Resource": self._arn("user", self._managed(env)),
                "Condition": {"StringEquals": {"iam:PermissionsBoundary": self.boundary_arns[env]}},
            },
            {
                "Sid": "ManageTheStacksUsers",
                "Effect": "Allow",
                "Action": USER_WRITES,
                "Resource": self._arn("user", self._managed(env)),
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
                "Resource": self._bootstrap_names(),
            },
            {
                "Sid": "NeverAttachBroadPolicies",
                "Effect": "Deny",
                "Action": ["iam:AttachRolePolicy", "iam:AttachUserPolicy", "iam:AttachGroupPolicy"],
                "Resource": "*",
                "Condition": {"ArnEquals": {"iam:PolicyARN": BROAD_POLICIES}},
            },
            *self._stack_guard(env, state),
        ]
        aws.iam.RolePolicy(f"{name}-iam", role=role.id, policy=_document(statements), opts=self._child)
        return role.arn

    def _preview_role(self, provider_arn: pulumi.Input[str], state: _State | None) -> pulumi.Output[str]:
        """Read-only previews from pull requests: configuration reads, the preview stacks' state."""
        args = self._args
        name = f"{self._name}-preview"
        role = aws.iam.Role(
            name,
            name=f"{args.role_name_prefix}-preview",
            description=f"pulumi preview of {', '.join(args.preview_stacks)} from pull requests of {args.repository}",
            assume_role_policy=self._trust(provider_arn, self.preview_subjects),
            max_session_duration=3600,
            opts=self._child,
        )
        # ReadOnlyAccess rather than ViewOnlyAccess: a preview runs the program's data sources
        # (Route 53 zones, AZs, AMIs, prefix lists, ELB accounts...) and the providers' reads,
        # which need Get*/Describe* calls that ViewOnlyAccess lacks. The inline policy below takes
        # back what would let a pull request read secrets or data.
        aws.iam.RolePolicyAttachment(
            f"{name}-read-only",
            role=role.name,
            policy_arn="arn:aws:iam::aws:policy/ReadOnlyAccess",
            opts=self._child,
        )
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
            preview_keys = [state.secrets_keys[stack].arn for stack in args.preview_stacks]
            object_reads["NotResource"] = [state.object_arns(stack) for stack in args.preview_stacks]
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
                    "Condition": {"StringEquals": {"kms:ViaService": f"s3.{args.region}.amazonaws.com"}},
                },
                {
                    "Sid": "ListOnlyThePreviewState",
                    "Effect": "Deny",
                    "Action": STATE_LIST_ACTIONS,
                    "Resource": state.bucket.arn,
                    "Condition": {"StringNotLike": {"s3:prefix": [f"{s}/*" for s in args.preview_stacks]}},
                },
            ]
        else:
            object_reads["Resource"] = "*"
            decryption["Resource"] = "*"
        aws.iam.RolePolicy(f"{name}-limits", role=role.id, policy=_document(statements), opts=self._child)
        return role.arn

    def _state_backend(self) -> _State:
        """The bucket holding every stack's state (one prefix per environment), the key encrypting
        it, and one secrets-provider key per environment, tagged as that environment's stack.

        All are protected: losing one loses the stacks' state or secrets.
        """
        args = self._args
        keep = pulumi.ResourceOptions(parent=self, protect=True)
        # The account administers the keys through IAM policies (the roles' guards), so a key
        # never becomes unmanageable.
        key_policy = _document(
            [
                {
                    "Sid": "AccountAdministers",
                    "Effect": "Allow",
                    "Principal": {"AWS": pulumi.Output.concat("arn:aws:iam::", self._account_id, ":root")},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ]
        )
        bucket_key = aws.kms.Key(
            f"{self._name}-state-key",
            description="Pulumi state bucket encryption",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=key_policy,
            region=args.region,
            opts=keep,
        )
        secrets_keys: dict[str, aws.kms.Key] = {}
        for env in args.environments:
            key = aws.kms.Key(
                f"{self._name}-{env}-secrets-key",
                description=f"Pulumi secrets provider of the {env} stack",
                enable_key_rotation=True,
                deletion_window_in_days=30,
                policy=key_policy,
                # Overrides the bootstrap's default stack tag: the key belongs to its stack, so
                # other environments' roles are denied it by their guard.
                tags={STACK_TAG: env},
                region=args.region,
                opts=keep,
            )
            aws.kms.Alias(
                f"{self._name}-{env}-secrets-key-alias",
                name=f"alias/{self._secrets_alias(env)}",
                target_key_id=key.key_id,
                region=args.region,
                opts=self._child,
            )
            secrets_keys[env] = key
        bucket = aws.s3.Bucket(
            f"{self._name}-state",
            bucket=pulumi.Output.concat(args.managed_name_prefix, "-pulumi-state-", self._account_id),
            region=args.region,
            opts=keep,
        )
        aws.s3.BucketPublicAccessBlock(
            f"{self._name}-state-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            region=args.region,
            opts=self._child,
        )
        aws.s3.BucketOwnershipControls(
            f"{self._name}-state-ownership",
            bucket=bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            region=args.region,
            opts=self._child,
        )
        aws.s3.BucketVersioning(
            f"{self._name}-state-versioning",
            bucket=bucket.id,
            versioning_configuration={"status": "Enabled"},
            region=args.region,
            opts=self._child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{self._name}-state-encryption",
            bucket=bucket.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {
                        "sse_algorithm": "aws:kms",
                        "kms_master_key_id": bucket_key.arn,
                    },
                    # One KMS request per bucket key instead of per object write.
                    "bucket_key_enabled": True,
                }
            ],
            region=args.region,
            opts=self._child,
        )
        # Old state versions are the undo history of every stack; three months is plenty.
        aws.s3.BucketLifecycleConfiguration(
            f"{self._name}-state-lifecycle",
            bucket=bucket.id,
            rules=[
                {
                    "id": "expire-old-state-versions",
                    "status": "Enabled",
                    "filter": {},
                    "noncurrent_version_expiration": {"noncurrent_days": 90},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 1},
                }
            ],
            region=args.region,
            opts=self._child,
        )
        return _State(bucket=bucket, bucket_key=bucket_key, secrets_keys=secrets_keys)

    def _state_bucket_policy(self, state: _State) -> None:
        """TLS only; each environment's roles (its deploy role and the roles of its stack) reach
        only their own prefix; no CI role may change the bucket itself. Denials keyed on
        ``aws:PrincipalArn`` (the role's ARN for an assumed-role session) hold whatever the roles'
        own policies say."""
        args = self._args
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
        for env in args.environments:
            principals = {
                "aws:PrincipalArn": [
                    self._arn("role", f"{args.role_name_prefix}-{env}-*"),
                    self._arn("role", self._managed(env)),
                ]
            }
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
                "Condition": {
                    "ArnEquals": {"aws:PrincipalArn": self._arn("role", f"{args.role_name_prefix}-preview")}
                },
            },
            {
                "Sid": "NoBucketChangesFromCi",
                "Effect": "Deny",
                "Principal": "*",
                "Action": BUCKET_CONFIG_WRITES,
                "Resource": bucket.arn,
                "Condition": {
                    "ArnLike": {
                        "aws:PrincipalArn": [
                            self._arn("role", f"{args.role_name_prefix}-*"),
                            self._arn("role", f"{args.managed_name_prefix}-*"),
                        ]
                    }
                },
            },
        ]
        aws.s3.BucketPolicy(
            f"{self._name}-state-policy",
            bucket=bucket.id,
            policy=_document(statements),
            region=args.region,
            opts=self._child,
        )

    def _cost_allocation_tag(self) -> None:
        """Activate the ``stack`` tag for cost allocation, so each stack's budget can filter on it.

        Opt-in: Cost Explorer knows a tag key only after a resource carrying it has been billed
        (up to 24 hours after the first tagged resource), and only the organization's management
        account may activate it. Before that, UpdateCostAllocationTagsStatus reports the key in
        its Errors list, which the provider ignores, and its read-back (ListCostAllocationTags)
        finds nothing, so the `up` fails (hashicorp/terraform-provider-aws
        internal/service/ce/cost_allocation_tag.go). Deleting the resource deactivates the tag.
        """
        aws.costexplorer.CostAllocationTag(
            f"{self._name}-stack-cost-tag", tag_key=STACK_TAG, status="Active", opts=self._child
        )
