"""platform-bootstrap: run once per AWS account, by an administrator, before the first CI run.

Creates GitHub Actions' OIDC trust into the account (one deploy role per GitHub environment, each
with the permissions boundary its stack's roles must carry, and a read-only preview role for pull
requests) and, optionally, the state bucket and per-environment keys of a self-managed Pulumi
backend. docs/delivery.md walks through it.
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
        preview_stacks=settings.preview_stacks,
        preview_environment=settings.preview_environment,
        role_name_prefix=settings.role_name_prefix,
        managed_name_prefix=settings.managed_name_prefix,
        existing_provider_arn=settings.existing_oidc_provider_arn,
        state_backend=settings.state_backend,
        region=region,
        activate_stack_cost_tag=settings.activate_stack_cost_tag,
    ),
)

# The values to copy into the GitHub Actions variables: AWS_PREVIEW_ROLE_ARN on the preview
# environment, and per deploy environment its AWS_DEPLOY_ROLE_ARN (and PULUMI_BACKEND_URL).
pulumi.export("AWS_PREVIEW_ROLE_ARN", github.preview_role_arn)
pulumi.export("AWS_DEPLOY_ROLE_ARN", github.deploy_role_arns)
pulumi.export("AWS_REGION", region)
pulumi.export("permissionsBoundaryArns", github.boundary_arns)
pulumi.export("oidcProviderArn", github.provider_arn)
pulumi.export("previewSubjects", github.preview_subjects)
pulumi.export("deploySubjects", github.deploy_subjects)
if settings.state_backend:
    pulumi.export("PULUMI_BACKEND_URL", github.backend_urls)
    pulumi.export("secretsProviders", github.secrets_providers)
