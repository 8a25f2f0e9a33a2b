"""The data sections: PostgreSQL on AWS, MongoDB Atlas, and the pre-commercial backups."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from components.settings.fields import (
    ATLAS_DEDICATED_TIERS,
    ATLAS_TIERS,
    RENDER_PLANS,
    AtlasOrgId,
    AtlasPeeringCidr,
    Cidr,
    CronSchedule,
    LogRetention,
    Repository,
    Section,
)


class DatabaseSettings(Section):
    """``platform:database``: PostgreSQL on RDS (staging) or Aurora Serverless v2 (commercial)."""

    engine: Literal["rds-postgres", "aurora-serverless-v2"] = "rds-postgres"
    """``rds-postgres`` (one instance) or ``aurora-serverless-v2`` (writer and readers)."""
    engine_version: str = Field("17", pattern=r"^\d{2}(\.\d{1,2})?$")
    """PostgreSQL version. RDS takes a major version and follows AWS's minor upgrades; Aurora is a
    reviewed major.minor pin (e.g. ``17.7``): bump it to upgrade, in the maintenance window."""
    instance_class: str = Field("db.t4g.micro", pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$")
    """RDS instance class (``rds-postgres`` only)."""
    allocated_storage_gb: int = Field(20, ge=20, le=65536)
    """Initial gp3 storage of an ``rds-postgres`` instance."""
    max_allocated_storage_gb: int = Field(100, ge=20, le=65536)
    """Storage autoscaling ceiling (``rds-postgres``)."""
    multi_az: bool = False
    """Standby in a second AZ (``rds-postgres``; Aurora spreads instances instead)."""
    min_capacity: float = Field(0.5, ge=0, le=256)
    """Aurora Serverless v2 minimum ACUs (0 to 256 in steps of 0.5; 0 auto-pauses)."""
    max_capacity: float = Field(4, ge=1, le=256)
    """Aurora Serverless v2 maximum ACUs."""
    reader_instances: int = Field(1, ge=0, le=15)
    """Aurora readers, each in a different AZ from the writer."""
    database_name: str = Field("app", pattern=r"^[a-z][a-z0-9_]{0,62}$")
    """Database created at launch."""
    master_username: str = Field("app_admin", pattern=r"^[a-z][a-z0-9_]{0,15}$")
    """Master user; well-known names such as ``postgres`` are refused."""
    backup_retention_days: int = Field(7, ge=1, le=35)
    """Days of automated backups (point-in-time recovery window)."""
    deletion_protection: bool = True
    """The service refuses to delete the database."""
    skip_final_snapshot: bool = False
    """Delete without a final snapshot (staging only; commercial refuses it)."""
    performance_insights: bool = False
    """Performance Insights, encrypted with the stack's key (7 days are free)."""
    iam_auth: bool = False
    """Allow IAM database authentication besides passwords."""
    log_retention_days: LogRetention = 30
    """Days the exported PostgreSQL logs are kept."""

    @model_validator(mode="after")
    def _valid(self) -> DatabaseSettings:
        if self.engine == "aurora-serverless-v2" and "." not in self.engine_version:
            raise ValueError(
                f"engineVersion {self.engine_version} must be major.minor (e.g. 17.7) for Aurora"
            )
        for name, value in (("minCapacity", self.min_capacity), ("maxCapacity", self.max_capacity)):
            if (value * 2) != int(value * 2):
                raise ValueError(f"{name} {value} must be a multiple of 0.5 ACU")
        if self.min_capacity > self.max_capacity:
            raise ValueError(f"minCapacity {self.min_capacity} is above maxCapacity {self.max_capacity}")
        if self.max_allocated_storage_gb < self.allocated_storage_gb:
            raise ValueError(
                f"maxAllocatedStorageGb {self.max_allocated_storage_gb} is below "
                f"allocatedStorageGb {self.allocated_storage_gb}"
            )
        if self.master_username in {"postgres", "admin", "rdsadmin", "root"}:
            raise ValueError(
                f"masterUsername {self.master_username!r} is reserved or well known; pick another"
            )
        if self.master_username == "app_api":  # components/database.py APP_USERNAME
            raise ValueError("masterUsername 'app_api' is the API's own role; pick another")
        return self


class AtlasSettings(Section):
    """``platform:atlas``: MongoDB Atlas project, cluster and database user."""

    enabled: bool = True
    """Build the Atlas project, cluster and user at all."""
    org_id: AtlasOrgId = "000000000000000000000000"
    """Atlas organisation id (24 hex characters). The committed placeholder must be replaced."""
    tier: Literal[ATLAS_TIERS] = "M0"  # type: ignore[valid-type]
    """M0 (free, shared), FLEX, or a dedicated tier M10 and up."""
    region: str = Field("AP_NORTHEAST_1", pattern=r"^[A-Z0-9_]+$")
    """Atlas region name for AWS (Tokyo is AP_NORTHEAST_1)."""
    mongo_version: Literal["7.0", "8.0"] = "8.0"
    """MongoDB major version of dedicated clusters; M0 and FLEX run the version Atlas picks."""
    database_name: str = Field("app", pattern=r"^[A-Za-z0-9_-]{1,63}$")
    """Database the application user may read and write."""
    access_cidrs: tuple[Cidr, ...] = ()
    """Extra source addresses allowed in the Atlas IP access list (e.g. a VPN)."""
    connectivity: Literal["public", "private-link", "peering"] = "public"
    """How the application reaches the cluster: ``public`` (its egress addresses in the IP access
    list; the only choice for M0 and FLEX), ``private-link`` (an AWS interface endpoint in every
    AZ, billed by the hour) or ``peering`` (VPC peering with Atlas' network container, no hourly
    fee). The last two need a dedicated tier and keep MongoDB traffic off the internet."""
    peering_cidr: AtlasPeeringCidr = "192.168.248.0/21"
    """Atlas' own block for ``connectivity: peering``: RFC 1918, /21 to /24, apart from
    ``network.cidr``. Atlas locks it once the project has a dedicated cluster or a peering."""
    cloud_backup: bool = False
    """Atlas cloud backups (dedicated tiers)."""
    pit_restore: bool = False
    """Continuous backup for point-in-time restore (needs ``cloudBackup``)."""
    termination_protection: bool = False
    """Atlas refuses to terminate the cluster until this is turned off."""

    @model_validator(mode="after")
    def _valid(self) -> AtlasSettings:
        if "0.0.0.0/0" in self.access_cidrs:
            raise ValueError("accessCidrs must not contain 0.0.0.0/0 (the whole internet)")
        dedicated = self.tier in ATLAS_DEDICATED_TIERS
        for name, on in (
            (f"connectivity {self.connectivity!r}", self.connectivity != "public"),
            ("cloudBackup", self.cloud_backup),
            ("pitRestore", self.pit_restore),
        ):
            if on and not dedicated:
                raise ValueError(
                    f"{name} needs a dedicated tier ({', '.join(ATLAS_DEDICATED_TIERS)}), not {self.tier}"
                )
        if self.pit_restore and not self.cloud_backup:
            raise ValueError("pitRestore needs cloudBackup")
        return self


class BackupSettings(Section):
    """``platform:backup``: the daily dumps of Supabase and Atlas to an S3 bucket (pre-commercial)."""

    enabled: bool = True
    """Run the backup job (a Render cron job) and keep its S3 bucket. Needs ``aws:region`` (the
    bucket's region) and AWS credentials for the stack, besides the Render ones."""
    schedule: CronSchedule = "0 18 * * *"
    """When the job runs, as a cron expression in **UTC** (Render evaluates schedules in UTC):
    ``0 18 * * *`` is 03:00 in Tokyo, the API's quietest hour."""
    retention_days: int = Field(35, ge=7, le=3650)
    """Days each archive is locked (S3 Object Lock) and kept; the lifecycle rule deletes it the day
    after. At least 7: a week of dailies, what Supabase Pro itself would keep."""
    lock_mode: Literal["governance", "compliance"] = "governance"
    """S3 Object Lock mode. ``governance``: nobody can delete or overwrite a locked archive unless
    an administrator passes ``s3:BypassGovernanceRetention``; ``compliance``: nobody at all, the
    account's root included, until the retention ends (a retention set too long cannot be undone)."""
    postgres_read_only: bool = True
    """Dump PostgreSQL as the read-only role ``platform_backup`` (created once with the SQL in
    docs/backup.md); off: as the project's ``postgres`` owner, through its session URL."""
    repository: Repository = "example/platform"
    """GitHub repository holding this program (``tools/backup.py`` and ``backup/Dockerfile``), which
    Render builds the job's image from. Render's GitHub app must have access to it."""
    branch: str = "main"
    """Branch Render builds the job from."""
    plan: Literal[RENDER_PLANS] = "starter"  # type: ignore[valid-type]
    """Render instance type of the job (billed per second of each run)."""
