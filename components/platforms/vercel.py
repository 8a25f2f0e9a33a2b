"""The Next.js web front end on Vercel (pre-commercial)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumiverse_vercel as vercel

from components.outputs import publish
from components.settings import DnsSettings, VercelSettings

# Vercel function region next to each Render region: server-rendered pages call the API several
# times per page, so they run beside it rather than beside the user (static assets are on the CDN).
FUNCTION_REGION_NEAR_RENDER = {
    "singapore": "sin1",
    "oregon": "pdx1",
    "ohio": "cle1",
    "virginia": "iad1",
    "frankfurt": "fra1",
}
TARGETS = ["production", "preview"]


@dataclass(frozen=True)
class VercelWebArgs:
    settings: VercelSettings
    """Plan, team, project name, repository, production branch and root directory."""
    dns: DnsSettings
    """With a domain, the site is served at ``<webSubdomain>.<domain>``."""
    function_region: str
    """Vercel region of the server-side functions, e.g. ``FUNCTION_REGION_NEAR_RENDER["singapore"]``."""


def production_domain(settings: VercelSettings, dns: DnsSettings) -> str:
    """The host the site is served at: ``<webSubdomain>.<domain>``, else ``<project>.vercel.app``.

    Vercel gives a project ``<project>.vercel.app`` only while that name is free anywhere on Vercel
    (otherwise a suffixed name). The project claims it as a project domain instead, so the URL the
    API trusts (``WEB_ORIGIN``) is known, and a name that is taken fails the ``up`` loudly: Vercel
    answers "Cannot add <name>.vercel.app since it's already assigned to another project" (400,
    vercel/vercel#15678). Pick another ``platform:vercel.projectName`` then.
    """
    if dns.domain:
        return f"{dns.web_subdomain}.{dns.domain}"
    return f"{settings.project_name}.vercel.app"


class VercelWeb(pulumi.ComponentResource):
    """A Vercel project of the team, linked to the web repository, and its production domain.

    Every push to the production branch deploys to production and every other branch gets a
    preview deployment (Vercel's Git integration must be installed on the repository). The
    project's environment is a separate component (:class:`VercelEnvironment`), so the API can be
    told the site's origin before the site is told the API's URL.
    """

    project_id: pulumi.Output[str]
    """The Vercel project id (``prj_...``)."""
    url: pulumi.Output[str]
    """``https://`` + the production domain, read from the project domain resource, so what uses
    it waits until Vercel has accepted the name."""
    domain: str
    """The production domain (the custom one, or ``<project>.vercel.app``)."""

    def __init__(self, name: str, args: VercelWebArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:vercel:VercelWeb", name, None, opts)
        settings = args.settings
        if settings.plan == "hobby":
            # The settings reject this for pre-commercial; the component refuses it on its own too.
            raise ValueError("Vercel's Hobby plan forbids commercial use; use 'pro' or 'enterprise'")
        child = pulumi.ResourceOptions(parent=self)
        # team_id forces a new project when changed (terraform-provider-vercel
        # vercel/resource_project.go: RequiresReplaceIfConfigured); without it the provider's
        # default team, else the token's personal (Hobby) scope.
        team = _team(settings)
        project = vercel.Project(
            f"{name}-project",
            name=settings.project_name,
            framework="nextjs",
            git_repository=vercel.ProjectGitRepositoryArgs(
                type="github", repo=settings.repository, production_branch=settings.production_branch
            ),
            root_directory=settings.root_directory,
            resource_config=vercel.ProjectResourceConfigArgs(function_default_regions=[args.function_region]),
            # Previews are for the team only; production is public.
            vercel_authentication=vercel.ProjectVercelAuthenticationArgs(
                deployment_type="standard_protection_new"
            ),
            **team,
            opts=child,
        )
        host = production_domain(settings, args.dns)
        # Without git_branch the domain follows every production deployment
        # (terraform-provider-vercel docs/resources/project_domain.md, "i-love.vercel.app").
        domain = vercel.ProjectDomain(
            f"{name}-domain", project_id=project.id, domain=host, **team, opts=child
        )
        publish(
            self,
            project_id=project.id,
            url=domain.domain.apply(lambda accepted: f"https://{accepted}"),
            domain=host,
        )


@dataclass(frozen=True)
class VercelEnvironmentArgs:
    settings: VercelSettings
    """The team that owns the project."""
    project_id: pulumi.Input[str]
    """The project (``VercelWeb.project_id``)."""
    api_url: pulumi.Input[str]
    """Public URL of the API (``https://<apiSubdomain>.<domain>`` with ``render.customDomain``, else
    Render's ``onrender.com`` URL), exposed to the browser as ``NEXT_PUBLIC_API_URL``. Next.js
    inlines it at build time: a change reaches users with the next production deployment."""
    secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Environment variable name -> secret value, stored as sensitive variables (write-only in
    Vercel: neither the dashboard nor the API can read them back)."""


class VercelEnvironment(pulumi.ComponentResource):
    """The web project's environment variables for production and preview deployments."""

    def __init__(self, name: str, args: VercelEnvironmentArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:vercel:VercelEnvironment", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        team = _team(args.settings)
        vercel.ProjectEnvironmentVariable(
            f"{name}-api-url",
            project_id=args.project_id,
            key="NEXT_PUBLIC_API_URL",
            value=args.api_url,
            targets=TARGETS,
            sensitive=False,  # public by design: it is compiled into the browser bundle
            comment="The API's public URL (set by Pulumi)",
            **team,
            opts=child,
        )
        for key, value in sorted(args.secrets.items()):
            vercel.ProjectEnvironmentVariable(
                f"{name}-{key.lower().replace('_', '-')}",
                project_id=args.project_id,
                key=key,
                value=pulumi.Output.secret(value),
                targets=TARGETS,
                sensitive=True,
                comment="Set by Pulumi",
                **team,
                opts=child,
            )
        publish(self)


def _team(settings: VercelSettings) -> dict[str, str]:
    return {"team_id": settings.team_id} if settings.team_id else {}
