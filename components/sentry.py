"""Sentry: one error-tracking project per application, each with its own client key (DSN) and the
issue alerts that tell its team about new issues, regressions and spikes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumiverse_sentry as sentry

from components.outputs import publish
from components.settings import SentrySettings


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
    alert_environment: str | None = None
    """Alert only on events of this Sentry environment (``production`` in the production stacks;
    the Node SDK reports ``SENTRY_ENVIRONMENT`` or else ``production``, @sentry/nextjs on Vercel
    ``VERCEL_ENV``). Unset: every environment of this stack's own projects."""


# Issue-alert rule ids from Sentry's rules registry (getsentry/sentry src/sentry/rules/); the
# provider sends each map as is and keeps only the keys given here on read (followShape in
# jianyuan/terraform-provider-sentry v0.11.2 sentry/helpers.go), so no key Sentry adds (its
# generated "name") shows as a diff. Values are strings, as the provider's maps of strings hold.
_NEW_ISSUE = {"id": "sentry.rules.conditions.first_seen_event.FirstSeenEventCondition"}
_REGRESSION = {"id": "sentry.rules.conditions.regression_event.RegressionEventCondition"}
_EVENT_FREQUENCY = "sentry.rules.conditions.event_frequency.EventFrequencyCondition"
_EMAIL_ACTION = "sentry.mail.actions.NotifyEmailAction"


class SentryProjects(pulumi.ComponentResource):
    """Sentry projects owned by the settings' team, each with a rate-limited client key."""

    dsns: dict[str, pulumi.Output[str]]
    """Short name -> the key's public DSN, as a Pulumi secret (the DSN lets anyone send events
    into the project, so it is kept out of plain outputs and logs)."""
    project_slugs: dict[str, pulumi.Output[str]]
    """Short name -> project slug."""

    def __init__(self, name: str, args: SentryProjectsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:sentry:SentryProjects", name, None, opts)
        settings = args.settings
        dsns: dict[str, pulumi.Output[str]] = {}
        project_slugs: dict[str, pulumi.Output[str]] = {}
        if settings.enabled:
            for short, platform in args.projects.items():
                slug = f"{args.name_prefix}-{short}"
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
                dsns[short] = pulumi.Output.secret(key.dsn_public)
                project_slugs[short] = project.slug
                if settings.alerts:
                    self._alerts(f"{name}-{short}", slug, project, args)
        publish(self, dsns=dsns, project_slugs=project_slugs)

    def _alerts(self, name: str, slug: str, project: sentry.SentryProject, args: SentryProjectsArgs) -> None:
        """A new issue, a regression and an event spike, each e-mailed to the owning team.

        Sentry also adds its own default rule to every project created through the API (provider
        v0.11.2, which pulumiverse-sentry 0.0.9 bridges, has no ``default_rules`` switch; it came in
        v0.12.0); it stays as a fallback to the issue owners, outside this code.
        """
        settings = args.settings
        team = sentry.get_sentry_team_output(organization=settings.organization, slug=settings.team)
        notify_team = [{"id": _EMAIL_ACTION, "targetType": "Team", "targetIdentifier": team.internal_id}]
        spike = {
            "id": _EVENT_FREQUENCY,
            "value": str(settings.spike_events_per_hour),
            "comparisonType": "count",
            "interval": "1h",
        }
        rules = {
            "new-issue": ("new issue", _NEW_ISSUE),
            "regression": ("regression", _REGRESSION),
            "spike": (f"more than {settings.spike_events_per_hour} events in 1h", spike),
        }
        for short, (what, condition) in rules.items():
            sentry.SentryIssueAlert(
                f"{name}-{short}",
                organization=settings.organization,
                project=project.slug,
                name=f"{slug}: {what}",
                action_match="any",
                filter_match="all",
                frequency=settings.alert_frequency_minutes,
                environment=args.alert_environment,
                conditions=[condition],
                actions=notify_team,
                opts=pulumi.ResourceOptions(parent=self),
            )
