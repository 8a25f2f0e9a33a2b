"""The daily backup as a Render cron job beside the databases (pre-commercial)."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

import pulumi
import pulumi_random as random
import pulumi_render as render

from components.backup import ARCHIVE_PREFIX
from components.outputs import publish
from components.platforms.render import _env_vars
from components.settings import BackupSettings, RenderSettings
from tools.backup import READ_ONLY_ROLE, read_only_role_sql

DOCKERFILE = "./backup/Dockerfile"
COMMAND = "python -m tools.backup run"


@dataclass(frozen=True)
class BackupJobArgs:
    settings: BackupSettings
    """Schedule, repository, branch, instance type, whether PostgreSQL is read as the read-only role."""
    render: RenderSettings
    """The API's workspace and region: the job runs beside the API and the databases, from the
    addresses Atlas' access list admits (``render.outboundCidrs`` are the region's)."""
    bucket_name: pulumi.Input[str]
    """The S3 bucket the archives go to (components/backup.py)."""
    bucket_region: str
    """Its AWS region."""
    aws_access_key_id: pulumi.Input[str]
    aws_secret_access_key: pulumi.Input[str]
    """The bucket's write-only key (secrets)."""
    postgres_session_url: pulumi.Input[str]
    """Supabase's session-pooler URL as ``postgres`` (secret): ``pg_dump`` needs session mode."""
    mongodb_uri: pulumi.Input[str] | None = None
    """Atlas' URI of the ``backup`` user (secret); None: no MongoDB to back up."""
    sentry_dsn: pulumi.Input[str] | None = None
    """DSN of the Sentry project the job reports its runs to (secret); None: Sentry is off."""


def as_role(session_url: str, role: str, password: str) -> str:
    """The session URL with ``postgres`` swapped for ``role``: Supavisor's shared pooler finds the
    project by the user name's ``.<ref>`` suffix (components/platforms/supabase.py, pooler_user)."""
    parts = urllib.parse.urlsplit(session_url)
    user = urllib.parse.unquote(parts.username or "")
    _, dot, ref = user.partition(".")
    if not dot or not ref:
        raise ValueError("BackupJob: the session URL's user has no .<project ref> suffix")
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    userinfo = f"{urllib.parse.quote(f'{role}.{ref}', safe='')}:{urllib.parse.quote(password, safe='')}"
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{userinfo}@{host}"))


class BackupJob(pulumi.ComponentResource):
    """A Render cron job that builds ``backup/Dockerfile`` from this repository and runs
    ``python -m tools.backup run`` on ``settings.schedule`` (UTC).

    The same provider rules as the API's web service (components/platforms/render.py): Render's
    PATCH schema for a cron job (openapi_generated.yml ``cronJobPatch``: ``servicePATCH`` plus
    ``serviceDetails`` of ``cronJobDetailsPATCH``) has no ``envVars`` and no ``ownerId``, so the
    variables are owned by :class:`EnvVarsForService` and only seed the first build, and a new
    workspace replaces the job; schedule, plan, runtime, the Docker details, repository and branch
    are PATCHed in place; ``region`` is in the POST schema but not the PATCH one, so it is set at
    creation only. Render builds the image on every push to the branch and runs the last build.

    With ``settings.postgresReadOnly`` the job connects as ``platform_backup``, a role this
    component gives a generated password but cannot create (Supabase's Management API creates no
    database roles): ``postgres_role_sql`` is the one-off SQL to run as ``postgres``.
    """

    service_id: pulumi.Output[str]
    """The cron job's id (``crn-...``)."""
    dashboard_url: pulumi.Output[str]
    """Its page in the Render dashboard (runs, logs, Trigger Run)."""
    postgres_role_sql: pulumi.Output[str] | None
    """The SQL creating the read-only role with its password (secret), or None."""

    def __init__(self, name: str, args: BackupJobArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:render:BackupJob", name, None, opts)
        database_url, postgres_role_sql = self._postgres(name, args)
        env_vars = _env_vars(*self._variables(args, database_url))
        job = self._job(name, args, env_vars)
        # PUT /services/{id}/env-vars: the whole set, updated in place (see RenderApi._env).
        render.services.EnvVarsForService(
            f"{name}-env", service_id=job.id, env_vars=env_vars, opts=pulumi.ResourceOptions(parent=self)
        )
        publish(
            self,
            service_id=job.id,
            dashboard_url=job.id.apply(lambda service_id: f"https://dashboard.render.com/cron/{service_id}"),
            postgres_role_sql=postgres_role_sql,
        )

    def _postgres(
        self, name: str, args: BackupJobArgs
    ) -> tuple[pulumi.Input[str], pulumi.Output[str] | None]:
        if not args.settings.postgres_read_only:
            return args.postgres_session_url, None
        password = random.RandomPassword(
            f"{name}-postgres-password",
            length=40,
            special=False,  # alphanumeric: safe in URLs and in the SQL literal
            opts=pulumi.ResourceOptions(parent=self),
        )
        url = pulumi.Output.all(args.postgres_session_url, password.result).apply(
            lambda values: as_role(values[0], READ_ONLY_ROLE, values[1])
        )
        return pulumi.Output.secret(url), pulumi.Output.secret(password.result.apply(read_only_role_sql))

    @staticmethod
    def _variables(
        args: BackupJobArgs, database_url: pulumi.Input[str]
    ) -> tuple[dict[str, pulumi.Input[str]], dict[str, pulumi.Input[str]]]:
        targets = ["postgres"] + (["mongo"] if args.mongodb_uri is not None else [])
        plain: dict[str, pulumi.Input[str]] = {
            "BACKUP_TARGETS": ",".join(targets),
            "BACKUP_BUCKET": args.bucket_name,
            "BACKUP_PREFIX": ARCHIVE_PREFIX,
            "BACKUP_SCHEDULE": args.settings.schedule,
            "AWS_REGION": args.bucket_region,
        }
        secrets: dict[str, pulumi.Input[str]] = {
            "DATABASE_URL": database_url,
            "AWS_ACCESS_KEY_ID": args.aws_access_key_id,
            "AWS_SECRET_ACCESS_KEY": args.aws_secret_access_key,
        }
        if args.mongodb_uri is not None:
            secrets["MONGODB_URI"] = args.mongodb_uri
        if args.sentry_dsn is not None:
            secrets["SENTRY_DSN"] = args.sentry_dsn
        return plain, secrets

    def _job(self, name: str, args: BackupJobArgs, env_vars) -> render.services.CronJob:
        settings = args.settings
        return render.services.CronJob(
            f"{name}-job",
            name=f"{args.render.service_name}-backup",
            owner_id=args.render.owner_id,
            repo=f"https://github.com/{settings.repository}",
            branch=settings.branch,
            auto_deploy=render.services.ServiceCreateAutoDeploy.YES,
            # Seeds the first build (see RenderApi: EnvVarsForService owns them afterwards).
            env_vars=env_vars,
            service_details=render.services.CronJobDetailsCreateArgs(
                runtime=render.services.CronJobDetailsCreateRuntime.DOCKER,
                schedule=settings.schedule,
                region=args.render.region,
                plan=settings.plan,
                env_specific_details=render.services.EnvSpecificDetailsArgs(
                    dockerfile_path=DOCKERFILE, docker_context=".", docker_command=COMMAND
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=JOB_IGNORED),
        )


# What Render fills in and the framework's Read copies back into the inputs, as for the API's web
# service (components/platforms/render.py, SERVICE_IGNORED): cronJobDetailsPOST has `env` (Render
# answers it, required in cronJobDetailsOutput) and the Docker details' `preDeployCommand` and
# `registryCredential`; `lastSuccessfulRunAt` and `buildPlan` are not in the POST schema, so the
# Read drops them. `envVars` seed the first build only.
JOB_IGNORED = [
    "envVars",
    "serviceDetails.env",
    "serviceDetails.envSpecificDetails.preDeployCommand",
    "serviceDetails.envSpecificDetails.registryCredential",
]
