"""The cross-checks of the pre-commercial topology: the managed platforms and the backups; rows of
the one table, ``CROSS_CHECKS`` (components/settings/checks.py), in its order."""

from __future__ import annotations

from components.settings.cross_check import PRE_COMMERCIAL, CrossCheck
from components.settings.derived import pooler

MANAGED_CHECKS: tuple[CrossCheck, ...] = (
    # Pre-commercial: the managed platforms and the backups.
    CrossCheck(
        "platform:vercel.teamId",
        "set while Vercel is enabled (without a team the project lands on the Hobby plan)",
        lambda s: s.vercel.enabled and s.vercel.team_id is None,
        "required for pre-commercial: without it Vercel creates the project in the token's personal "
        "scope, which is the Hobby plan (Pro is a team plan); set the team's id (team_..., Vercel > "
        "Team Settings > General)",
        PRE_COMMERCIAL,
    ),
    CrossCheck(
        "platform:vercel.enabled",
        "false only with platform:dns.domain (the web's name, served by then from prod-commercial)",
        lambda s: not s.vercel.enabled and not s.dns.domain,
        "false drops the only place this stack serves the web from: without platform:dns.domain "
        "its users are at <projectName>.vercel.app, which nothing else can serve; keep it true, or "
        "set the domain whose <webSubdomain>.<domain> the commercial stack serves (docs/migration.md)",
        PRE_COMMERCIAL,
    ),
    CrossCheck(
        "platform:dns.webSubdomain",
        "apart from platform:dns.apiSubdomain while Vercel and Render both claim a custom domain",
        lambda s: (
            s.vercel.enabled
            and s.render.custom_domain
            and bool(s.dns.domain)
            and s.dns.web_subdomain == s.dns.api_subdomain
        ),
        "{s.dns.web_subdomain!r} is also platform:dns.apiSubdomain: Vercel (the web) and Render (the "
        "API, render.customDomain) would both claim {s.dns.web_subdomain}.{s.dns.domain}; give them "
        "different subdomains (defaults: www and api)",
        PRE_COMMERCIAL,
    ),
    CrossCheck(
        "platform:render.customDomain",
        "needs platform:dns.domain",
        lambda s: s.render.custom_domain and not s.dns.domain,
        "true needs platform:dns.domain (the API would be served at {s.dns.api_subdomain}.<domain>); "
        "set the domain or turn customDomain off",
        PRE_COMMERCIAL,
    ),
    CrossCheck(
        "aws:region",
        "set while platform:backup.enabled (the backup bucket's region)",
        lambda s: s.backup.enabled and s.region is None,
        "required when platform:backup.enabled is true: the backups go to an S3 bucket in the team's "
        "AWS account (ap-northeast-1 keeps them in Tokyo, away from the Singapore databases); set "
        "it, or turn platform:backup.enabled off",
        PRE_COMMERCIAL,
    ),
    CrossCheck(
        "platform:supabase.computeSize",
        "'nano' on the free plan",
        lambda s: s.supabase.plan == "free" and s.supabase.compute_size != "nano",
        "the free plan runs on 'nano' only (got {s.supabase.compute_size!r}); use 'nano' or plan 'pro'",
        PRE_COMMERCIAL,
    ),
    CrossCheck(
        "platform:supabase.poolMode",
        "render.maxInstances x connectionsPerInstance + otherClients within the pooler's limit",
        lambda s: pooler(s)[1] > pooler(s)[0],
        lambda s: (
            f"{s.render.max_instances} API instances (render.maxInstances) x "
            f"{s.supabase.connections_per_instance} connections (supabase.connectionsPerInstance) + "
            f"{s.supabase.other_clients} other clients (supabase.otherClients) = {pooler(s)[1]}, but "
            f"on {s.supabase.compute_size!r} compute {pooler(s)[2]}; use poolMode 'transaction', "
            "fewer connections per instance or a larger supabase.computeSize"
        ),
        PRE_COMMERCIAL,
    ),
    CrossCheck(
        "platform:vercel.plan",
        "not 'hobby' (no commercial use)",
        lambda s: s.vercel.enabled and s.vercel.plan == "hobby",
        "'hobby' forbids commercial use (Vercel's fair-use terms); pre-commercial serves real users, "
        "so use 'pro' or 'enterprise'",
        PRE_COMMERCIAL,
    ),
    CrossCheck(
        "platform:atlas.tier",
        "M0 or FLEX",
        lambda s: s.atlas.enabled and s.atlas.tier not in ("M0", "FLEX"),
        "pre-commercial uses the free M0 or FLEX tier (got {s.atlas.tier!r})",
        PRE_COMMERCIAL,
    ),
)
