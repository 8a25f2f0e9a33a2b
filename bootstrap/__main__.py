"""platform-bootstrap: run once per AWS account, by an administrator, before the first CI run.

Creates GitHub Actions' OIDC trust into the account (a read-only preview role for pull requests,
a deploy role for the main branch and the protected environments) and, optionally, the state
bucket and key of a self-managed Pulumi backend. docs/delivery.md walks through it.
"""

import pulumi
from bootstrap_settings import load_settings
from github_oidc import GithubOidc, GithubOidcArgs

settings = load_settings()
region = pulumi.Config("aws").require("region")

github = GithubOidc(
    "github",
    GithubOidcArgs(
        repository=settings.github_repository,
        environments=settings.environments,
        allow_main_branch=settings.allow_main_branch,
        main_branch=settings.main_branch,
        role_name_prefix=settings.role_name_prefix,
        managed_name_prefix=settings.managed_name_prefix,
        existing_provider_arn=settings.existing_oidc_provider_arn,
        state_backend=settings.state_backend,
        region=region,
    ),
)

# The values to copy into the repository's (or environment's) GitHub Actions variables.
pulumi.export("AWS_PREVIEW_ROLE_ARN", github.preview_role_arn)
pulumi.export("AWS_DEPLOY_ROLE_ARN", github.deploy_role_arn)
pulumi.export("AWS_REGION", region)
pulumi.export("oidcProviderArn", github.provider_arn)
pulumi.export("previewSubjects", github.preview_subjects)
pulumi.export("deploySubjects", github.deploy_subjects)
if settings.state_backend:
    pulumi.export("PULUMI_BACKEND_URL", github.backend_url)
    pulumi.export("secretsProvider", github.secrets_provider)
