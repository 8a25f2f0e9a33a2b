"""Sentry: one error-tracking project per application, each with its own client key (DSN)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumiverse_sentry as sentry

from components.settings import SentrySettings

# Sentry project slugs: lower-case letters, digits, "-" and "_", at most 50 characters.
_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,49}")


@dataclass(frozen=True)
class SentryProjectsArgs:
    """Inputs of :class:`SentryProjects`."""

    settings: SentrySettings
    """Organisation and owning team; ``enabled`` off creates nothing."""
    name_prefix: str
    """Physical-name prefix, e.g. ``platform-staging``; projects are ``<name_prefix>-<short>``."""
    projects: Mapping[str, str]
    """Short name -> Sentry platform, e.g. ``{"api": "node-nestjs", "web": "javascript-nextjs"}``."""
    rate_limit_count: int = 1000
    """Events one client key may send per ``rate_limit_window_seconds``: a crash loop then costs
    at most this much of the month's event quota per window."""
    rate_limit_window_seconds: int = 3600


class SentryProjects(pulumi.ComponentResource):
    """Sentry projects owned by the settings' team, each with a rate-limited client key.

    Outputs:
        dsns: short name -> the key's public DSN, as a Pulumi secret (the DSN lets anyone send
            events into the project, so it is kept out of plain outputs and logs).
        project_slugs: short name -> project slug.
    """

    def __init__(self, name: str, args: SentryProjectsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:sentry:SentryProjects", name, None, opts)
        settings = args.settings
        self.dsns: dict[str, pulumi.Output[str]] = {}
        self.project_slugs: dict[str, pulumi.Output[str]] = {}
        if settings.enabled:
            for short, platform in args.projects.items():
                slug = f"{args.name_prefix}-{short}"
                if not _SLUG.fullmatch(slug):
                    raise ValueError(
                        f"Sentry project slug {slug!r} must be 1-50 lower-case letters, digits, '-' or '_'"
                    )
                project = sentry.SentryProject(
                    f"{name}-{short}",
                    organization=settings.organization,
                    teams=[settings.team],
                    name=slug,
                    slug=slug,
                    platform=platform,
                    opts=pulumi.ResourceOptions(parent=self),
                )
                key = sentry.SentryKey(
                    f"{name}-{short}-key",
                    organization=settings.organization,
                    project=project.slug,
                    name=f"{slug} (pulumi)",
                    rate_limit_count=args.rate_limit_count,
                    rate_limit_window=args.rate_limit_window_seconds,
                    opts=pulumi.ResourceOptions(
                        parent=self, additional_secret_outputs=["dsnPublic", "dsnCsp"]
                    ),
                )
                self.dsns[short] = pulumi.Output.secret(key.dsn_public)
                self.project_slugs[short] = project.slug
        self.register_outputs({"dsns": self.dsns, "project_slugs": self.project_slugs})
