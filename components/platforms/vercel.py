"""The Next.js web front end on Vercel (pre-commercial)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumiverse_vercel as vercel

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
    api_url: pulumi.Input[str]
    """Public URL of the API (``https://<apiSubdomain>.<domain>`` with a domain, else Render's
    ``onrender.com`` URL), exposed to the browser as ``NEXT_PUBLIC_API_URL``. Next.js inlines it at
    build time: a change reaches users with the next production deployment."""
    function_region: str
    """Vercel region of the server-side functions, e.g. ``FUNCTION_REGION_NEAR_RENDER["singapore"]``."""
    secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Environment variable name -> secret value, stored as sensitive variables (write-only in
    Vercel: neither the dashboard nor the API can read them back)."""


def site_url(settings: VercelSettings, dns: DnsSettings) -> str:
    """Where the site is served: ``https://<webSubdomain>.<domain>``, else the project's
    ``<project>.vercel.app`` (Vercel assigns it while the name is free, else with a suffix)."""
    if dns.domain:
        return f"https://{dns.web_subdomain}.{dns.domain}"
    return f"https://{settings.project_name}.vercel.app"


class VercelWeb(pulumi.ComponentResource):
    """A Vercel project linked to the web repository, its environment and optional domain.

    Every push to the production branch deploys to production and every other branch gets a
    preview deployment (Vercel's Git integration must be installed on the repository).

    Outputs:
        project_id: the Vercel project id (``prj_...``).
        url: the site's public URL (the custom domain when set, else ``<project>.vercel.app``).
        domain: the custom domain, or None.
    """

    def __init__(self, name: str, args: VercelWebArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:vercel:VercelWeb", name, None, opts)
        settings = args.settings
        if settings.plan == "hobby":
            # settings.py rejects this for pre-commercial; the component refuses it on its own too.
            raise ValueError("Vercel's Hobby plan forbids commercial use; use 'pro' or 'enterprise'")
        child = pulumi.ResourceOptions(parent=self)
        team = {"team_id": settings.team_id} if settings.team_id else {}
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
        vercel.ProjectEnvironmentVariable(
            f"{name}-env-api-url",
            project_id=project.id,
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
                f"{name}-env-{key.lower().replace('_', '-')}",
                project_id=project.id,
                key=key,
                value=pulumi.Output.secret(value),
                targets=TARGETS,
                sensitive=True,
                comment="Set by Pulumi",
                **team,
                opts=child,
            )
        domain = f"{args.dns.web_subdomain}.{args.dns.domain}" if args.dns.domain else None
        if domain:
            vercel.ProjectDomain(f"{name}-domain", project_id=project.id, domain=domain, **team, opts=child)
        self.project_id: pulumi.Output[str] = project.id
        self.domain = domain
        self.url: pulumi.Output[str] = pulumi.Output.from_input(site_url(settings, args.dns))
        self.register_outputs({"project_id": self.project_id, "url": self.url, "domain": domain})
