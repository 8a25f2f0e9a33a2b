"""GitHub Actions' way into one AWS account: the OIDC provider, a read-only preview role for pull
requests, a deploy role for the main branch and the protected environments, and optionally the
state bucket and key of a self-managed Pulumi backend."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

GITHUB_ISSUER = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
# The CLI's DIY backend takes a lock object for every operation, previews included.
STATE_LOCK_PREFIX = ".pulumi/locks/"
MAX_SESSION_SECONDS = 7200  # a first commercial `pulumi up` (Aurora, CloudFront) can pass an hour

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
IAM_WRITES = [
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
    "iam:UpdateAssumeRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary",
    "iam:CreatePolicy",
    "iam:DeletePolicy",
    "iam:CreatePolicyVersion",
    "iam:DeletePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:TagPolicy",
    "iam:UntagPolicy",
]
# Never attachable by the deploy role, whatever role it manages.
BROAD_POLICIES = [
    "arn:aws:iam::aws:policy/AdministratorAccess",
    "arn:aws:iam::aws:policy/IAMFullAccess",
    "arn:aws:iam::aws:policy/PowerUserAccess",
]


@dataclass(frozen=True)
class GithubOidcArgs:
    repository: str
    """GitHub repository ``owner/name`` whose workflows may assume the roles."""
    environments: Sequence[str]
    """Protected GitHub environments whose jobs may assume the deploy role."""
    allow_main_branch: bool = True
    """Let jobs on ``main_branch`` without an environment assume the deploy role."""
    main_branch: str = "main"
    role_name_prefix: str = "platform-github"
    """The roles are ``<prefix>-preview`` and ``<prefix>-deploy``."""
    managed_name_prefix: str = "platform"
    """IAM roles and policies the deploy role may manage are named ``<prefix>-*``."""
    existing_provider_arn: str | None = None
    """Reuse the account's GitHub OIDC provider instead of creating one."""
    state_backend: bool = False
    """Create the versioned, KMS-encrypted, TLS-only state bucket and its key."""
    region: str = "ap-northeast-1"
    """Region of the state bucket and key."""


class GithubOidc(pulumi.ComponentResource):
    """Outputs: ``provider_arn``, ``preview_role_arn``, ``deploy_role_arn``, ``preview_subjects`` and
    ``deploy_subjects`` (plain lists of the OIDC ``sub`` values each role trusts), and, when
    ``state_backend``: ``state_bucket_name``, ``state_key_arn``, ``backend_url`` (``s3://...``) and
    ``secrets_provider`` (``awskms://...``); those four are None otherwise."""

    def __init__(self, name: str, args: GithubOidcArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:bootstrap:GithubOidc", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id

        if args.existing_provider_arn:
            provider_arn: pulumi.Input[str] = args.existing_provider_arn
        else:
            # No thumbprint: AWS validates GitHub's certificate against its own trusted CAs.
            provider = aws.iam.OpenIdConnectProvider(
                f"{name}-provider",
                url=f"https://{GITHUB_ISSUER}",
                client_id_lists=[AUDIENCE],
                opts=child,
            )
            provider_arn = provider.arn

        repo = f"repo:{args.repository}"
        self.preview_subjects = [f"{repo}:pull_request"]
        self.deploy_subjects = [
            *([f"{repo}:ref:refs/heads/{args.main_branch}"] if args.allow_main_branch else []),
            *(f"{repo}:environment:{environment}" for environment in args.environments),
        ]

        def trust(subjects: list[str]) -> pulumi.Output[str]:
            return pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Federated": provider_arn},
                            "Action": "sts:AssumeRoleWithWebIdentity",
                            "Condition": {
                                "StringEquals": {
                                    f"{GITHUB_ISSUER}:aud": AUDIENCE,
                                    f"{GITHUB_ISSUER}:sub": subjects,
                                }
                            },
                        }
                    ],
                }
            )

        state_bucket: aws.s3.Bucket | None = None
        state_key: aws.kms.Key | None = None
        if args.state_backend:
            state_key, state_bucket = self._state_backend(name, args, account_id)

        # -- Preview: read-only, no data-plane reads ----------------------------------------------------
        preview = aws.iam.Role(
            f"{name}-preview",
            name=f"{args.role_name_prefix}-preview",
            description=f"pulumi preview from pull requests of {args.repository} (read-only)",
            assume_role_policy=trust(self.preview_subjects),
            max_session_duration=3600,
            opts=child,
        )
        # ReadOnlyAccess rather than ViewOnlyAccess: a preview runs the program's data sources
        # (Route 53 zones, AZs, AMIs, prefix lists, ELB accounts...) and the providers' reads,
        # which need Get*/Describe* calls that ViewOnlyAccess lacks. The inline policy below takes
        # back what would let a pull request read secrets or data.
        aws.iam.RolePolicyAttachment(
            f"{name}-preview-read-only",
            role=preview.name,
            policy_arn="arn:aws:iam::aws:policy/ReadOnlyAccess",
            opts=child,
        )
        # Without a state bucket or key, every object read and decryption is denied.
        object_reads: dict = {"Sid": "NoObjectReadsOutsideTheState", "Effect": "Deny"}
        object_reads["Action"] = ["s3:GetObject", "s3:GetObjectVersion"]
        if state_bucket:
            object_reads["NotResource"] = pulumi.Output.concat(state_bucket.arn, "/*")
        else:
            object_reads["Resource"] = "*"
        decryption: dict = {"Sid": "NoDecryptOutsideTheStateKey", "Effect": "Deny"}
        decryption["Action"] = ["kms:Decrypt", "kms:ReEncryptFrom"]
        if state_key:
            decryption["NotResource"] = state_key.arn
        else:
            decryption["Resource"] = "*"
        preview_statements: list[dict] = [
            {"Sid": "NoDataReads", "Effect": "Deny", "Action": DATA_READS, "Resource": "*"},
            object_reads,
            decryption,
        ]
        if state_bucket and state_key:
            preview_statements += [
                {
                    "Sid": "TakeTheStateLock",
                    "Effect": "Allow",
                    "Action": ["s3:PutObject", "s3:DeleteObject"],
                    "Resource": pulumi.Output.concat(state_bucket.arn, "/", STATE_LOCK_PREFIX, "*"),
                },
                {
                    "Sid": "DecryptStackSecrets",
                    "Effect": "Allow",
                    "Action": ["kms:Decrypt"],
                    "Resource": state_key.arn,
                },
            ]
        aws.iam.RolePolicy(
            f"{name}-preview-limits",
            role=preview.id,
            policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": preview_statements}),
            opts=child,
        )

        # -- Deploy: everything but IAM, plus IAM for the program's own roles ------------------------
        deploy = aws.iam.Role(
            f"{name}-deploy",
            name=f"{args.role_name_prefix}-deploy",
            description=f"pulumi up from {args.repository}: main branch and protected environments",
            assume_role_policy=trust(self.deploy_subjects),
            max_session_duration=MAX_SESSION_SECONDS,
            opts=child,
        )
        # PowerUserAccess: the program spans VPC, ECS, ELB, RDS, CloudFront, WAF, KMS, SSM, S3,
        # Logs, SNS, Budgets, Scheduler and Route 53; listing each action would mean rewriting this
        # policy with every component. It excludes IAM (except service-linked roles), which the
        # inline policy grants only for the program's own role and policy names.
        aws.iam.RolePolicyAttachment(
            f"{name}-deploy-power-user",
            role=deploy.name,
            policy_arn="arn:aws:iam::aws:policy/PowerUserAccess",
            opts=child,
        )
        managed_roles = pulumi.Output.concat(
            "arn:aws:iam::", account_id, ":role/", args.managed_name_prefix, "-*"
        )
        managed_policies = pulumi.Output.concat(
            "arn:aws:iam::", account_id, ":policy/", args.managed_name_prefix, "-*"
        )
        own_roles = pulumi.Output.concat("arn:aws:iam::", account_id, ":role/", args.role_name_prefix, "-*")
        aws.iam.RolePolicy(
            f"{name}-deploy-iam",
            role=deploy.id,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "ReadIam",
                            "Effect": "Allow",
                            "Action": ["iam:Get*", "iam:List*"],
                            "Resource": "*",
                        },
                        {
                            "Sid": "ManageTheProgramsRolesAndPolicies",
                            "Effect": "Allow",
                            "Action": IAM_WRITES,
                            "Resource": [managed_roles, managed_policies],
                        },
                        {
                            "Sid": "PassTheProgramsRolesToItsServices",
                            "Effect": "Allow",
                            "Action": "iam:PassRole",
                            "Resource": managed_roles,
                            "Condition": {
                                "StringEquals": {
                                    "iam:PassedToService": [
                                        "ecs-tasks.amazonaws.com",
                                        "scheduler.amazonaws.com",
                                        "vpc-flow-logs.amazonaws.com",
                                        "events.amazonaws.com",
                                        "monitoring.rds.amazonaws.com",
                                        "delivery.logs.amazonaws.com",
                                    ]
                                }
                            },
                        },
                        {
                            "Sid": "NeverAttachBroadPolicies",
                            "Effect": "Deny",
                            "Action": [
                                "iam:AttachRolePolicy",
                                "iam:AttachUserPolicy",
                                "iam:AttachGroupPolicy",
                            ],
                            "Resource": "*",
                            "Condition": {"ArnEquals": {"iam:PolicyARN": BROAD_POLICIES}},
                        },
                        {
                            # Keeps the deploy role from widening its own or the preview role's
                            # trust or permissions, even if roleNamePrefix overlaps the program's.
                            "Sid": "NeverTouchTheBootstrapRoles",
                            "Effect": "Deny",
                            "Action": IAM_WRITES,
                            "Resource": own_roles,
                        },
                    ],
                }
            ),
            opts=child,
        )

        self.provider_arn = pulumi.Output.from_input(provider_arn)
        self.preview_role_arn = preview.arn
        self.deploy_role_arn = deploy.arn
        self.state_bucket_name = state_bucket.bucket if state_bucket else None
        self.state_key_arn = state_key.arn if state_key else None
        self.backend_url = pulumi.Output.concat("s3://", state_bucket.bucket) if state_bucket else None
        self.secrets_provider = (
            pulumi.Output.concat("awskms://", state_key.key_id, "?region=", args.region)
            if state_key
            else None
        )
        self.register_outputs(
            {
                "provider_arn": self.provider_arn,
                "preview_role_arn": self.preview_role_arn,
                "deploy_role_arn": self.deploy_role_arn,
                "state_bucket_name": self.state_bucket_name,
                "backend_url": self.backend_url,
                "secrets_provider": self.secrets_provider,
            }
        )

    def _state_backend(
        self, name: str, args: GithubOidcArgs, account_id: pulumi.Output[str]
    ) -> tuple[aws.kms.Key, aws.s3.Bucket]:
        """The bucket holding every stack's state and the key of the stacks' secrets provider.

        Both are protected: losing either loses every stack's state or secrets.
        """
        keep = pulumi.ResourceOptions(parent=self, protect=True)
        child = pulumi.ResourceOptions(parent=self)
        key = aws.kms.Key(
            f"{name}-state-key",
            description="Pulumi state bucket encryption and stack secrets provider",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            # The account administers the key through IAM policies (the roles above), so the key
            # never becomes unmanageable.
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "AccountAdministers",
                            "Effect": "Allow",
                            "Principal": {"AWS": pulumi.Output.concat("arn:aws:iam::", account_id, ":root")},
                            "Action": "kms:*",
                            "Resource": "*",
                        }
                    ],
                }
            ),
            region=args.region,
            opts=keep,
        )
        aws.kms.Alias(
            f"{name}-state-key-alias",
            name=f"alias/{args.managed_name_prefix}-pulumi-state",
            target_key_id=key.key_id,
            region=args.region,
            opts=child,
        )
        bucket = aws.s3.Bucket(
            f"{name}-state",
            bucket=pulumi.Output.concat(args.managed_name_prefix, "-pulumi-state-", account_id),
            region=args.region,
            opts=keep,
        )
        aws.s3.BucketPublicAccessBlock(
            f"{name}-state-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            region=args.region,
            opts=child,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-state-ownership",
            bucket=bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            region=args.region,
            opts=child,
        )
        aws.s3.BucketVersioning(
            f"{name}-state-versioning",
            bucket=bucket.id,
            versioning_configuration={"status": "Enabled"},
            region=args.region,
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-state-encryption",
            bucket=bucket.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {
                        "sse_algorithm": "aws:kms",
                        "kms_master_key_id": key.arn,
                    },
                    # One KMS request per bucket key instead of per object write.
                    "bucket_key_enabled": True,
                }
            ],
            region=args.region,
            opts=child,
        )
        # Old state versions are the undo history of every stack; three months is plenty.
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-state-lifecycle",
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
            opts=child,
        )
        aws.s3.BucketPolicy(
            f"{name}-state-policy",
            bucket=bucket.id,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "DenyInsecureTransport",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [bucket.arn, pulumi.Output.concat(bucket.arn, "/*")],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                }
            ),
            region=args.region,
            opts=child,
        )
        return key, bucket
