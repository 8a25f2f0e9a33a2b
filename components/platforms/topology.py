"""Pre-commercial topology: Vercel (web) -> Render (API) -> Supabase (PostgreSQL) and Atlas (MongoDB).

Cost-effective managed services for the first users (the seed's $0-68/month): the web on Vercel
Pro, the API on Render with autoscaling, PostgreSQL on Supabase's free plan and MongoDB on
Atlas' free M0 tier, with Sentry for errors when enabled, and (``platform:backup``) a daily
Render cron job dumping both databases to an Object-Locked S3 bucket in the team's AWS account.
Every secret travels as a Pulumi secret from the service that issues it to the one that uses it;
the stack exports URLs and names only. ``platform:vercel.enabled: false`` drops Vercel once the
commercial stack serves the web (the seed's "managed services shrink", docs/migration.md 5.2).
"""

from __future__ import annotations

import pulumi

from components.atlas import MongoAtlas, MongoAtlasArgs
from components.backup import BackupBucket, BackupBucketArgs
from components.boundary import boundary_arn
from components.platforms.backup_job import BackupJob, BackupJobArgs
from components.platforms.render import RenderApi, RenderApiArgs
from components.platforms.supabase import SupabaseProject, SupabaseProjectArgs
from components.platforms.vercel import (
    FUNCTION_REGION_NEAR_RENDER,
    VercelEnvironment,
    VercelEnvironmentArgs,
    VercelWeb,
    VercelWebArgs,
)
from components.sentry import SentryProjects, SentryProjectsArgs
from components.settings import Settings

SENTRY_PLATFORMS = {"api": "node-nestjs", "web": "javascript-nextjs"}
# The backup job reports its runs to a cron monitor in a project of its own.
BACKUP_SENTRY_PLATFORM = {"backup": "python"}


def build_pre_commercial(settings: Settings) -> None:
    """Register the pre-commercial services, wire them together and export their URLs."""
    dsns: dict[str, pulumi.Output[str]] = {}
    if settings.sentry.enabled:
        sentry = SentryProjects(
            "sentry",
            SentryProjectsArgs(
                settings=settings.sentry,
                name_prefix=settings.name(),
                projects={**SENTRY_PLATFORMS, **(BACKUP_SENTRY_PLATFORM if settings.backup.enabled else {})},
                alert_environment="production",
            ),
        )
        dsns = sentry.dsns

    if settings.supabase.plan == "free":
        pulumi.log.warn(
            "platform:supabase.plan is 'free': Supabase pauses the project after 7 days without "
            "activity (the API then fails until someone restores it in the dashboard) and keeps no "
            "backups you can restore; Pro ($25/month per organisation, includes the Micro compute) "
            "keeps 7 days of daily backups and never pauses (README, Costs)"
        )
    postgres = SupabaseProject("supabase", SupabaseProjectArgs(settings=settings.supabase))
    api_secrets: dict[str, pulumi.Input[str]] = {"DATABASE_URL": postgres.pooled_connection_string}
    dashboards: dict[str, pulumi.Input[str]] = {"supabase": postgres.dashboard_url}

    mongo: MongoAtlas | None = None
    if settings.atlas.enabled:
        if not settings.render.outbound_cidrs:
            pulumi.log.warn(
                "Atlas allows no Render address yet, so the API cannot reach MongoDB: set "
                "platform:render.outboundCidrs to the outbound IPs the Render dashboard shows "
                f"(service > Connect > Outbound) for {settings.render.region}"
            )
        mongo = MongoAtlas(
            "atlas",
            MongoAtlasArgs(
                settings=settings.atlas,
                project_name=settings.name(),
                access_cidrs=settings.render.outbound_cidrs,
                protect=True,  # the first users' data
                backup_user=settings.backup.enabled,
            ),
        )
        api_secrets["MONGODB_URI"] = mongo.connection_uri
        dashboards["atlas"] = mongo.project_id.apply(
            lambda project_id: f"https://cloud.mongodb.com/v2/{project_id}#/clusters"
        )
    if "api" in dsns:
        api_secrets["SENTRY_DSN"] = dsns["api"]

    # The site first, so the API trusts the origin Vercel accepted (a project domain), and the
    # site's environment last, once the API's URL is known. Without Vercel (the web moved to the
    # commercial stack, docs/migration.md 5.2) the origin is the web's name there.
    web: VercelWeb | None = None
    if settings.vercel.enabled:
        web = VercelWeb(
            "web",
            VercelWebArgs(
                settings=settings.vercel,
                dns=settings.dns,
                function_region=FUNCTION_REGION_NEAR_RENDER[settings.render.region],
            ),
        )
    web_origin: pulumi.Input[str] = (
        web.url if web is not None else f"https://{settings.dns.web_subdomain}.{settings.dns.domain}"
    )
    # With render.customDomain the API is called at api.<domain>, the name the commercial stack's
    # weighted records later move to AWS; Render serves it until then (docs/migration.md, phase 2).
    api_host = (
        f"{settings.dns.api_subdomain}.{settings.dns.domain}" if settings.render.custom_domain else None
    )
    api = RenderApi(
        "api",
        RenderApiArgs(
            settings=settings.render,
            secrets=api_secrets,
            environment={
                "NODE_ENV": "production",
                "WEB_ORIGIN": web_origin,
                # Each instance's pool, sized so all of them fit the Supavisor limit (settings checks).
                "DATABASE_POOL_MAX": str(settings.supabase.connections_per_instance),
            },
            custom_domain=api_host,
        ),
    )
    dashboards["render"] = api.dashboard_url
    if web is not None:
        VercelEnvironment(
            "web-env",
            VercelEnvironmentArgs(
                settings=settings.vercel,
                project_id=web.project_id,
                api_url=api.public_url,
                secrets={"SENTRY_DSN": dsns["web"]} if "web" in dsns else {},
            ),
        )
        # Vercel dashboard URLs are scoped by the team's slug, which the settings do not hold.
        dashboards["vercel"] = "https://vercel.com/dashboard"

    if settings.backup.enabled:
        dashboards["backup"] = _backups(settings, postgres, mongo, dsns.get("backup")).dashboard_url

    # No webUrl without Vercel: the web is then the commercial stack's (its own outputs say where).
    if web is not None:
        pulumi.export("webUrl", web.url)
    pulumi.export("apiUrl", api.public_url)
    pulumi.export("dashboards", dashboards)


def _backups(
    settings: Settings,
    postgres: SupabaseProject,
    mongo: MongoAtlas | None,
    sentry_dsn: pulumi.Output[str] | None,
) -> BackupJob:
    """The bucket in AWS and the Render cron job that fills it (docs/backup.md)."""
    bucket = BackupBucket(
        "backup",
        BackupBucketArgs(
            settings=settings.backup,
            name_prefix=settings.name(),
            region=settings.aws_region,
            permissions_boundary=boundary_arn(None, project=settings.project, stack=settings.stack),
        ),
    )
    job = BackupJob(
        "backup-job",
        BackupJobArgs(
            settings=settings.backup,
            render=settings.render,
            bucket_name=bucket.bucket_name,
            bucket_region=settings.aws_region,
            aws_access_key_id=bucket.writer_access_key_id,
            aws_secret_access_key=bucket.writer_secret_access_key,
            postgres_session_url=postgres.session_connection_string,
            mongodb_uri=mongo.backup_connection_uri if mongo is not None else None,
            sentry_dsn=sentry_dsn,
        ),
    )
    # The role's SQL holds its password, so it stays a secret output of the BackupJob component in
    # the state (docs/backup.md reads it with `pulumi stack export --show-secrets`), not a stack output.
    pulumi.export("backupBucket", bucket.bucket_name)
    return job
