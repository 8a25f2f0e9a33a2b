"""The managed platforms of the pre-commercial topology: Vercel, Render and Supabase."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from components.settings.fields import (
    RENDER_PLANS,
    RENDER_REGIONS,
    SUPABASE_POOLER_LIMITS,
    SUPABASE_REGIONS,
    Cidr,
    PlainEnvironment,
    Repository,
    Section,
)


class VercelSettings(Section):
    """``platform:vercel``: the Next.js web front end (pre-commercial)."""

    enabled: bool = True
    """Host the web on Vercel. Turn it off once the commercial stack serves ``www.<domain>`` alone
    (cut-over phase ``data-switched`` or ``done``): the stack then deletes the Vercel project, its
    domain and its variables, exports no ``webUrl`` and Render trusts
    ``https://<webSubdomain>.<domain>``, the web on AWS (docs/migration.md, 5.2). Needs
    ``platform:dns.domain``."""
    plan: Literal["hobby", "pro", "enterprise"] = "pro"
    """Vercel plan of the team; Hobby forbids commercial use."""
    team_id: str | None = Field(None, pattern=r"^team_[A-Za-z0-9]+$")
    """Vercel team that owns the project (``team_...``, Team Settings > General). Required for
    pre-commercial while ``enabled``: without it the project lands in the token's personal scope,
    which is Hobby (Pro is a team plan). Changing it replaces the project."""
    project_name: str = Field("platform-web", pattern=r"^[a-z0-9._-]{1,100}$")
    """Vercel project name."""
    repository: Repository = "example/web"
    """GitHub repository of the Next.js web app, ``owner/name``."""
    production_branch: str = "main"
    """Branch Vercel deploys to production."""
    root_directory: str | None = None
    """Directory of the Next.js app inside the repository (monorepos)."""


class RenderSettings(Section):
    """``platform:render``: the NestJS API as a Render web service (pre-commercial)."""

    service_name: str = Field("platform-api", pattern=r"^[a-z0-9-]{1,64}$")
    """Render web service name."""
    owner_id: str = Field("tea-00000000000000000000", pattern=r"^(tea|usr)-[a-z0-9]{20}$")
    """Render workspace that owns the service (``tea-...``; the API requires it). The committed
    placeholder must be replaced. Changing it replaces the service (new ``srv-`` id and
    onrender.com host)."""
    repository: Repository = "example/api"
    """GitHub repository of the NestJS API, ``owner/name``."""
    branch: str = "main"
    """Branch Render deploys on push."""
    region: Literal[RENDER_REGIONS] = "singapore"  # type: ignore[valid-type]
    """Render has no Tokyo region; Singapore is the nearest. Set when the service is created:
    Render cannot move a service to another region."""
    plan: Literal[RENDER_PLANS] = "starter"  # type: ignore[valid-type]
    """Render instance type."""
    runtime: Literal["node", "docker"] = "node"
    """Build natively on Node or from the repository's Dockerfile."""
    build_command: str = "npm ci && npm run build"
    """Build command (``node`` runtime)."""
    start_command: str = "node dist/main.js"
    """Start command (``node`` runtime)."""
    health_check_path: str = Field("/health", pattern=r"^/[A-Za-z0-9/_.-]*$")
    """Path Render probes before routing traffic to an instance."""
    min_instances: int = Field(1, ge=1, le=100)
    """Autoscaling floor; equal to ``maxInstances``, the fixed instance count (no autoscaling).
    This and the other three scaling keys update the running service in place (Render's
    autoscaling and scale endpoints, through a dynamic provider: README, "Render")."""
    max_instances: int = Field(3, ge=1, le=100)
    """Autoscaling ceiling; equal to ``minInstances``: no autoscaling, that many instances."""
    cpu_target_percent: int = Field(70, ge=10, le=90)
    """Autoscaling target for average CPU (unused with a fixed count)."""
    memory_target_percent: int = Field(80, ge=10, le=90)
    """Autoscaling target for average memory (unused with a fixed count)."""
    outbound_cidrs: tuple[Cidr, ...] = ()
    """Render's published outbound addresses for ``region``, allowed in Atlas' access list."""
    custom_domain: bool = False
    """Serve the API at ``<dns.apiSubdomain>.<dns.domain>`` (a Render custom domain) and have the
    web call it there. Needs ``dns.domain`` and, first, a DNS record of that name pointing at the
    service's ``onrender.com`` host (docs/migration.md, phase 2); off: the web calls ``onrender.com``."""
    environment: PlainEnvironment = Field(default_factory=dict)
    """Plain, non-secret environment variables of the API."""

    @model_validator(mode="after")
    def _valid(self) -> RenderSettings:
        if self.min_instances > self.max_instances:
            raise ValueError(f"minInstances {self.min_instances} is above maxInstances {self.max_instances}")
        injected = sorted(
            {"DATABASE_URL", "DATABASE_POOL_MAX", "MONGODB_URI", "SENTRY_DSN", "NODE_ENV", "WEB_ORIGIN"}
            & self.environment.keys()
        )
        if injected:
            raise ValueError(f"environment must not set {injected}: the topology injects them")
        return self


class SupabaseSettings(Section):
    """``platform:supabase``: the PostgreSQL project (pre-commercial)."""

    organization_id: str = Field("platform-org", pattern=r"^[a-z0-9-]{1,64}$")
    """Supabase organisation slug."""
    project_name: str = Field("platform", pattern=r"^[A-Za-z0-9 _-]{1,64}$")
    """Supabase project name."""
    region: Literal[SUPABASE_REGIONS] = "ap-northeast-1"  # type: ignore[valid-type]
    """Supabase region (Tokyo is ap-northeast-1)."""
    plan: Literal["free", "pro"] = "free"
    """Organisation plan the project runs on (``free`` pauses after a week idle, no backups)."""
    protect: bool = True
    """Refuse ``pulumi destroy`` of the project (the engine's protect)."""
    compute_size: Literal[tuple(SUPABASE_POOLER_LIMITS)] = "nano"  # type: ignore[valid-type]
    """The project's compute size (Free: ``nano``; set it to what the dashboard shows after an
    upgrade): it fixes the pooler's pool size and client limit the settings check against."""
    pool_mode: Literal["transaction", "session"] = "transaction"
    """Supavisor mode of the API's ``DATABASE_URL``: ``transaction`` (port 6543) admits the compute's
    pooler client limit, but prepared statements, ``LISTEN`` and session ``SET`` do not survive a
    transaction (disable the driver's named prepared statements, e.g. Prisma ``?pgbouncer=true``);
    ``session`` (5432) keeps them but admits only pool-size clients (15 on nano)."""
    connections_per_instance: int = Field(5, ge=1, le=100)
    """Pool size of each API instance, handed to it as ``DATABASE_POOL_MAX`` (the API must size its
    client pool from it); times ``render.maxInstances`` it must fit the pooler's limit."""
    other_clients: int = Field(0, ge=0, le=10000)
    """Connections other programs hold on the same pool mode, counted against the limit: during the
    cut-over the commercial stack's API tasks (its ``services.api.maxCount`` times their pool size)."""
