"""GitHub Actions' way into one AWS account: the OIDC provider, one deploy role per GitHub
environment (each with the permissions boundary every role it creates must carry), a read-only
preview role for pull requests, and optionally the state bucket and per-environment secrets keys
of a self-managed Pulumi backend."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
from policies import (
    AUDIENCE,
    GITHUB_ISSUER,
    STACK_TAG,
    State,
    boundary_policy,
    deploy_role_policy,
    key_policy,
    preview_role_policy,
    state_bucket_policy,
    trust_policy,
)

MAX_SESSION_SECONDS = 7200  # a first commercial `pulumi up` (Aurora, CloudFront) can pass an hour


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

    def _boundary(self, env: str, state: State | None) -> pulumi.Output[str]:
        """The permissions boundary every role of stack ``env`` must carry (the program sets it on
        each role it creates: components/boundary.py)."""
        policy = aws.iam.Policy(
            f"{self._name}-{env}-boundary",
            name=f"{self._args.role_name_prefix}-{env}-boundary",
            description=f"Permissions boundary of every IAM role the {env} stack creates",
            policy=boundary_policy(env, state),
            opts=self._child,
        )
        return policy.arn

    def _deploy_role(
        self, env: str, provider_arn: pulumi.Input[str], state: State | None
    ) -> pulumi.Output[str]:
        """``pulumi up`` of stack ``env``: trusted only by jobs of GitHub environment ``env``."""
        name = f"{self._name}-{env}-deploy"
        role = aws.iam.Role(
            name,
            name=f"{self._args.role_name_prefix}-{env}-deploy",
            description=f"pulumi up of the {env} stack from {self._args.repository} (environment {env})",
            assume_role_policy=trust_policy(provider_arn, self.deploy_subjects[env]),
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
        policy = deploy_role_policy(
            env,
            boundary_arn=self.boundary_arns[env],
            own_roles=self._arn("role", self._managed(env)),
            own_users=self._arn("user", self._managed(env)),
            own_policies=self._arn("policy", self._managed(env)),
            bootstrap_names=self._bootstrap_names(),
            state=state,
        )
        aws.iam.RolePolicy(f"{name}-iam", role=role.id, policy=policy, opts=self._child)
        return role.arn

    def _preview_role(self, provider_arn: pulumi.Input[str], state: State | None) -> pulumi.Output[str]:
        """Read-only previews from pull requests: configuration reads, the preview stacks' state."""
        args = self._args
        name = f"{self._name}-preview"
        role = aws.iam.Role(
            name,
            name=f"{args.role_name_prefix}-preview",
            description=f"pulumi preview of {', '.join(args.preview_stacks)} from pull requests of {args.repository}",
            assume_role_policy=trust_policy(provider_arn, self.preview_subjects),
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
        policy = preview_role_policy(args.preview_stacks, args.region, state)
        aws.iam.RolePolicy(f"{name}-limits", role=role.id, policy=policy, opts=self._child)
        return role.arn

    def _state_backend(self) -> State:
        """The bucket holding every stack's state (one prefix per environment), the key encrypting
        it, and one secrets-provider key per environment, tagged as that environment's stack.

        All are protected: losing one loses the stacks' state or secrets.
        """
        args = self._args
        keep = pulumi.ResourceOptions(parent=self, protect=True)
        key_policy_document = key_policy(self._account_id)
        bucket_key = aws.kms.Key(
            f"{self._name}-state-key",
            description="Pulumi state bucket encryption",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=key_policy_document,
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
                policy=key_policy_document,
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
        return State(bucket=bucket, bucket_key=bucket_key, secrets_keys=secrets_keys)

    def _state_bucket_policy(self, state: State) -> None:
        """The state bucket's policy (policies.state_bucket_policy): each environment's roles are
        its deploy role and its stack's roles; every CI role is a bootstrap or a program role."""
        args = self._args
        prefix = args.role_name_prefix
        aws.s3.BucketPolicy(
            f"{self._name}-state-policy",
            bucket=state.bucket.id,
            policy=state_bucket_policy(
                state,
                roles_by_env={
                    env: [self._arn("role", f"{prefix}-{env}-*"), self._arn("role", self._managed(env))]
                    for env in args.environments
                },
                preview_role=self._arn("role", f"{prefix}-preview"),
                ci_roles=[
                    self._arn("role", f"{prefix}-*"),
                    self._arn("role", f"{args.managed_name_prefix}-*"),
                ],
            ),
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
