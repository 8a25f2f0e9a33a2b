"""PostgreSQL for the AWS stacks: RDS (staging) or Aurora Serverless v2 (commercial)."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.admission import admit_clients
from components.database_roles import APP_USERNAME, scram_sha256_verifier
from components.outputs import publish
from components.postgres_tls import RDS_CA_BUNDLE, postgres_url
from components.schedule import DatabaseHours, database_hours, local_now
from components.settings import DatabaseSettings, ScheduleSettings

PORT = 5432
# RDS rejects '/', '@', '"' and spaces in master passwords; "'" breaks shell quoting of the URL.
PASSWORD_SPECIALS = "!#$%&*()-_=+[]{}<>:?"
CA_CERTIFICATE = "rds-ca-rsa2048-g1"
# Statements slower than this (ms) are logged, to find slow queries without logging everything.
SLOW_STATEMENT_MS = 1000
# Performance Insights keeps 7 days free of charge.
PERFORMANCE_INSIGHTS_DAYS = 7
# A Wednesday: every ``weekdays`` setting includes it.
_REFERENCE_WEDNESDAY = "2025-01-08"


@dataclass(frozen=True)
class DatabaseArgs:
    settings: DatabaseSettings
    """Engine, size, backups and protection of the database."""
    schedule: ScheduleSettings | None
    """Business hours; when enabled in ``stop`` mode the database is stopped outside them."""
    name_prefix: str
    """Physical-name prefix of the stack, e.g. ``platform-staging``."""
    subnet_ids: Sequence[pulumi.Input[str]]
    """Private subnets, in at least two AZs (RDS requires a subnet group spanning two)."""
    vpc_id: pulumi.Input[str]
    """VPC of the database's security group, which admits no one until :meth:`Database.admit`."""
    kms_key_arn: pulumi.Input[str]
    """The stack's key: storage, Performance Insights and the log groups are encrypted with it."""
    availability_zones: Sequence[str]
    """AZs of ``subnet_ids``, in order; Aurora pins the writer to the first and readers to the next."""
    protect: bool
    """Refuse to delete the instance or cluster (the engine's protect), for production data."""
    now: datetime | None = None
    """Local time in the schedule's zone the business hours are generated for; None: the clock."""


# How long a scheduled start takes to make the instance available, and how long an update may
# take to reach the database: an update inside either margin of the database's hours is held.
DATABASE_START_GRACE = timedelta(minutes=20)
DATABASE_UPDATE_LOOKAHEAD = timedelta(minutes=45)


def _windows_in_business_hours(schedule: ScheduleSettings) -> tuple[str, str] | None:
    """RDS backup and maintenance windows (UTC) inside business hours, or None if the day is too short.

    A stopped database takes no automated backups and is not maintained, and RDS's default
    windows fall at night, when a business-hours database is stopped.
    """
    zone = ZoneInfo(schedule.timezone)

    def local(clock: str) -> datetime:
        return datetime.strptime(f"{_REFERENCE_WEDNESDAY} {clock}", "%Y-%m-%d %H:%M").replace(tzinfo=zone)

    # 90 minutes after the start leaves room for the start itself and for the hour a DST zone
    # moves in the other half of the year (the windows are fixed in UTC).
    backup = local(schedule.start) + timedelta(minutes=90)
    maintenance = backup + timedelta(minutes=60)
    half_hour = timedelta(minutes=30)
    if maintenance + half_hour > local(schedule.stop):
        return None

    def utc(moment: datetime, with_day: bool) -> str:
        moment = moment.astimezone(UTC)
        return (moment.strftime("%a:") if with_day else "").lower() + moment.strftime("%H:%M")

    return (
        f"{utc(backup, False)}-{utc(backup + half_hour, False)}",
        f"{utc(maintenance, True)}-{utc(maintenance + half_hour, True)}",
    )


class Database(pulumi.ComponentResource):
    """The application's PostgreSQL database, private, encrypted and TLS-only."""

    identifier: pulumi.Output[str]
    """The DB instance identifier (RDS) or the cluster identifier (Aurora)."""
    arn: pulumi.Output[str]
    """ARN of that instance or cluster."""
    endpoint: pulumi.Output[str]
    """Host name of the writer."""
    reader_endpoint: pulumi.Output[str]
    """Host name for read-only traffic (Aurora's reader endpoint; RDS: the endpoint)."""
    port: pulumi.Output[int]
    """5432."""
    instance_identifiers: list[pulumi.Output[str]]
    """DB instance identifiers (writer first), for CloudWatch alarms."""
    cluster_identifier: pulumi.Output[str] | None
    """The Aurora cluster identifier, None for RDS."""
    log_group_names: list[pulumi.Output[str]]
    """The CloudWatch log groups PostgreSQL's logs are exported to."""
    database_name: str
    """Name of the application database."""
    username: str
    """Master user name, for the admin task only."""
    password: pulumi.Output[str]
    """Master password (secret)."""
    master_url: pulumi.Output[str]
    """The master user's URL (secret), for the admin task only (role bootstrap and schema
    migrations)."""
    app_username: str
    """The API's role, ``app_api``."""
    app_password_verifier: pulumi.Output[str]
    """The SCRAM-SHA-256 secret of the API role's password (secret), which the admin task sets
    (bootstrap_sql)."""
    url: pulumi.Output[str]
    """The API's URL, ``postgresql://app_api:pass@host:5432/db?sslmode=verify-full&
    sslrootcert=certs/rds-global-bundle.pem`` (secret; components/postgres_tls.py)."""
    engine: str
    """``rds-postgres`` or ``aurora-serverless-v2``."""
    schedule_group_name: pulumi.Output[str] | None
    """The EventBridge Scheduler group that stops and starts the database outside business
    hours; None when it runs around the clock."""
    dead_letter_queue_name: pulumi.Output[str] | None
    """The queue a failed scheduled start or stop lands in; None without the schedule."""

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        settings = args.settings
        if settings.engine == "aurora-serverless-v2":
            zones = list(args.availability_zones)
            if not zones:
                raise ValueError("Database: availability_zones is empty; Aurora pins each instance to an AZ")
            if settings.reader_instances and len(zones) < 2:
                raise ValueError(
                    f"Database: {settings.reader_instances} reader(s) need a second AZ for the writer's "
                    f"failover, but availability_zones is {zones}"
                )
        super().__init__("platform:database:Database", name, None, opts)
        self._name = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        self._aurora = settings.engine == "aurora-serverless-v2"
        self._major = settings.engine_version.split(".")[0]
        physical = f"{args.name_prefix}-db"
        stops_out_of_hours = (
            args.schedule is not None and args.schedule.enabled and args.schedule.mode == "stop"
        )
        windows = _windows_in_business_hours(args.schedule) if stops_out_of_hours else None
        now = args.now or local_now(args.schedule) if stops_out_of_hours else None
        self._hours: DatabaseHours | None = database_hours(args.schedule, now) if now else None
        # Held unless the database is up for the whole update: RDS refuses a modification while it
        # is stopped, still starting (minutes after the scheduled start) or stopping, so the
        # window is narrowed at both ends (a start or stop firing mid-update).
        self._held = now is not None and not all(
            database_hours(args.schedule, moment).in_hours
            for moment in (now - DATABASE_START_GRACE, now + DATABASE_UPDATE_LOOKAHEAD)
        )
        if self._held:
            pulumi.log.warn(
                f"{physical} is stopped outside business hours ({args.schedule.start}-{args.schedule.stop} "
                f"{args.schedule.timezone}, open days), and RDS refuses to modify a stopped database "
                "(InvalidDBInstanceState). This update leaves the database's own settings as they are; "
                "run `pulumi up` again in business hours to apply changes to them.",
                resource=self,
            )

        master_password = random.RandomPassword(
            f"{name}-master-password",
            length=32,
            special=True,
            override_special=PASSWORD_SPECIALS,
            min_lower=1,
            min_upper=1,
            min_numeric=1,
            opts=self._child,
        )
        password = pulumi.Output.secret(master_password.result)

        self._group = self._security_group(physical)
        self._subnet_group = aws.rds.SubnetGroup(
            f"{name}-subnets",
            name=f"{physical}-subnets",
            description=f"Private subnets of {physical}",
            subnet_ids=list(args.subnet_ids),
            opts=self._child,
        )

        build = self._build_aurora if self._aurora else self._build_rds
        server = build(physical, windows, password)
        schedule = (
            self._schedule_business_hours(physical, args.schedule, self._hours, server)
            if self._hours is not None
            else {"schedule_group_name": None, "dead_letter_queue_name": None}
        )
        publish(
            self,
            **server,
            **schedule,
            **self._app_role(server),
            database_name=settings.database_name,
            username=settings.master_username,
            password=password,
            master_url=self._url(server, settings.master_username, password),
            engine=settings.engine,
        )

    # -- shared pieces ---------------------------------------------------------------------

    def _security_group(self, physical: str) -> aws.ec2.SecurityGroup:
        """The database's group; the services that use the database are admitted one by one."""
        return aws.ec2.SecurityGroup(
            f"{self._name}-sg",
            name_prefix=f"{physical}-",
            description="PostgreSQL, reachable only from the services that use it",
            vpc_id=self._args.vpc_id,
            tags={"Name": physical},
            opts=self._child,
        )

    def admit(self, client: str, security_group_id: pulumi.Input[str]) -> None:
        """Let the tasks of ``client`` (a service given ``DATABASE_URL``) reach PostgreSQL: ingress
        on 5432 from their group and their egress to this one, as the database's own children.

        Called once per client after the services exist, like SST's ``cluster.addService``: the
        services need the database's URL first, so the database cannot take their groups as
        arguments."""
        admit_clients(
            f"{self._name}-clients",
            group_id=self._group.id,
            clients={client: security_group_id},
            ports=(PORT, PORT),
            what="PostgreSQL",
            region=None,
            parent=self,
        )

    def _url(self, server: dict[str, Any], user: str, password: pulumi.Input[str]) -> pulumi.Output[str]:
        database_name = self._args.settings.database_name
        return pulumi.Output.secret(
            pulumi.Output.all(server["endpoint"], server["port"], password).apply(
                lambda values: postgres_url(
                    user, values[2], values[0], values[1], database_name, RDS_CA_BUNDLE
                )
            )
        )

    def _app_role(self, server: dict[str, Any]) -> dict[str, Any]:
        """The API's own login: a generated password, its SCRAM verifier and its URL.

        Pulumi cannot create the role itself: the database is private and the deployer has no
        network path to it. The admin task (components/migrations.py) runs bootstrap_sql with
        the master URL inside the VPC and sets the password from the verifier.
        """
        password = random.RandomPassword(
            f"{self._name}-app-password",
            length=32,
            special=False,  # alphanumeric: no quoting in URLs, shells or SQL, and ASCII for SCRAM
            opts=self._child,
        )
        salt = random.RandomBytes(f"{self._name}-app-password-salt", length=16, opts=self._child)
        return {
            "app_username": APP_USERNAME,
            "app_password_verifier": pulumi.Output.secret(
                pulumi.Output.all(password.result, salt.base64).apply(
                    lambda values: scram_sha256_verifier(values[0], base64.b64decode(values[1]))
                )
            ),
            "url": self._url(server, APP_USERNAME, pulumi.Output.secret(password.result)),
        }

    def _log_groups(
        self, kind: str, identifier: str, exports: Sequence[str]
    ) -> list[aws.cloudwatch.LogGroup]:
        """Pre-create the groups RDS exports to, so retention and encryption are ours, not RDS's defaults."""
        groups = [
            aws.cloudwatch.LogGroup(
                f"{self._name}-logs-{export}",
                name=f"/aws/rds/{kind}/{identifier}/{export}",
                retention_in_days=self._args.settings.log_retention_days,
                kms_key_id=self._args.kms_key_arn,
                opts=self._child,
            )
            for export in exports
        ]
        return groups

    def _parameters(self) -> list[dict[str, str]]:
        return [
            # Refuse unencrypted connections (the URLs verify the server as well).
            {"name": "rds.force_ssl", "value": "1"},
            {"name": "log_min_duration_statement", "value": str(SLOW_STATEMENT_MS)},
            # Schema changes are logged (who ran which migration, when); bind parameter values
            # never are, neither with a statement nor with its error (PostgreSQL 13+,
            # "Error Reporting and Logging"): they carry user data and secrets, and these logs go
            # to CloudWatch and from there to Datadog.
            {"name": "log_statement", "value": "ddl"},
            {"name": "log_parameter_max_length", "value": "0"},
            {"name": "log_parameter_max_length_on_error", "value": "0"},
        ]

    def _performance_insights(self) -> dict[str, object]:
        if not self._args.settings.performance_insights:
            return {"performance_insights_enabled": False}
        return {
            "performance_insights_enabled": True,
            "performance_insights_kms_key_id": self._args.kms_key_arn,
            "performance_insights_retention_period": PERFORMANCE_INSIGHTS_DAYS,
        }

    def _hold(self) -> list[str] | None:
        """While the schedule has the database stopped, leave every input as it was: RDS refuses
        ModifyDBInstance/ModifyDBCluster on a stopped database (InvalidDBInstanceState /
        InvalidDBClusterStateFault), which would fail the whole update. ``*`` resets all inputs to
        their previous values (pulumi/pulumi pkg/resource/deploy/step_generator.go
        processIgnoreChanges, sdk/go/common/resource/properties_path.go); a creation is not held."""
        return ["*"] if self._held else None

    def _final_snapshot(self, identifier: str) -> dict[str, object]:
        settings = self._args.settings
        if settings.skip_final_snapshot:
            return {"skip_final_snapshot": True}
        return {"skip_final_snapshot": False, "final_snapshot_identifier": f"{identifier}-final"}

    # -- RDS -------------------------------------------------------------------------------

    def _build_rds(
        self, identifier: str, windows: tuple[str, str] | None, password: pulumi.Output[str]
    ) -> dict[str, Any]:
        """The instance and its pieces; returns the outputs that describe the server."""
        args, settings = self._args, self._args.settings
        exports = ["postgresql", "upgrade"]
        log_groups = self._log_groups("instance", identifier, exports)
        parameter_group = aws.rds.ParameterGroup(
            f"{self._name}-parameters",
            # A prefix, not a name: a new family (major upgrade) creates the new group first.
            name_prefix=f"{identifier}-postgres{self._major}-",
            family=f"postgres{self._major}",
            description=f"TLS-only PostgreSQL {self._major} for {identifier}",
            parameters=self._parameters(),
            opts=self._child,
        )
        instance = aws.rds.Instance(
            f"{self._name}-instance",
            identifier=identifier,
            engine="postgres",
            engine_version=settings.engine_version,
            instance_class=settings.instance_class,
            storage_type="gp3",
            allocated_storage=settings.allocated_storage_gb,
            max_allocated_storage=settings.max_allocated_storage_gb,
            storage_encrypted=True,
            kms_key_id=args.kms_key_arn,
            db_name=settings.database_name,
            username=settings.master_username,
            password=password,
            port=PORT,
            db_subnet_group_name=self._subnet_group.name,
            vpc_security_group_ids=[self._group.id],
            parameter_group_name=parameter_group.name,
            publicly_accessible=False,
            multi_az=settings.multi_az,
            ca_cert_identifier=CA_CERTIFICATE,
            iam_database_authentication_enabled=settings.iam_auth,
            enabled_cloudwatch_logs_exports=exports,
            backup_retention_period=settings.backup_retention_days,
            backup_window=windows[0] if windows else None,
            maintenance_window=windows[1] if windows else None,
            copy_tags_to_snapshot=True,
            # Automated backups outlive the instance whenever its data is worth a final snapshot.
            delete_automated_backups=settings.skip_final_snapshot,
            deletion_protection=settings.deletion_protection,
            auto_minor_version_upgrade=True,
            allow_major_version_upgrade=False,
            apply_immediately=False,
            **self._final_snapshot(identifier),
            **self._performance_insights(),
            opts=pulumi.ResourceOptions(
                parent=self, protect=args.protect, depends_on=log_groups, ignore_changes=self._hold()
            ),
        )
        return {
            "identifier": instance.identifier,
            "arn": instance.arn,
            "endpoint": instance.address,
            "reader_endpoint": instance.address,
            "port": instance.port,
            "instance_identifiers": [instance.identifier],
            "cluster_identifier": None,
            "log_group_names": [group.name for group in log_groups],
        }

    # -- Aurora Serverless v2 --------------------------------------------------------------

    def _build_aurora(
        self, identifier: str, windows: tuple[str, str] | None, password: pulumi.Output[str]
    ) -> dict[str, Any]:
        """The cluster, its instances and their pieces; returns the outputs that describe the server."""
        args, settings = self._args, self._args.settings
        zones = list(args.availability_zones)
        exports = ["postgresql"]
        log_groups = self._log_groups("cluster", identifier, exports)
        parameter_group = aws.rds.ClusterParameterGroup(
            f"{self._name}-parameters",
            name_prefix=f"{identifier}-aurora-postgresql{self._major}-",
            family=f"aurora-postgresql{self._major}",
            description=f"TLS-only Aurora PostgreSQL {self._major} for {identifier}",
            parameters=self._parameters(),
            opts=self._child,
        )
        cluster = aws.rds.Cluster(
            f"{self._name}-cluster",
            cluster_identifier=identifier,
            engine="aurora-postgresql",
            engine_mode="provisioned",
            engine_version=settings.engine_version,
            database_name=settings.database_name,
            master_username=settings.master_username,
            master_password=password,
            port=PORT,
            db_subnet_group_name=self._subnet_group.name,
            vpc_security_group_ids=[self._group.id],
            db_cluster_parameter_group_name=parameter_group.name,
            serverlessv2_scaling_configuration={
                "min_capacity": settings.min_capacity,
                "max_capacity": settings.max_capacity,
            },
            storage_encrypted=True,
            kms_key_id=args.kms_key_arn,
            iam_database_authentication_enabled=settings.iam_auth,
            enabled_cloudwatch_logs_exports=exports,
            backup_retention_period=settings.backup_retention_days,
            preferred_backup_window=windows[0] if windows else None,
            preferred_maintenance_window=windows[1] if windows else None,
            copy_tags_to_snapshot=True,
            delete_automated_backups=settings.skip_final_snapshot,
            deletion_protection=settings.deletion_protection,
            allow_major_version_upgrade=False,
            apply_immediately=False,
            **self._final_snapshot(identifier),
            opts=pulumi.ResourceOptions(
                parent=self, protect=args.protect, depends_on=log_groups, ignore_changes=self._hold()
            ),
        )

        instances: list[aws.rds.ClusterInstance] = []
        for index in range(1 + settings.reader_instances):
            # Writer in the first AZ, reader i in the next ones, wrapping round: a reader is never
            # in the writer's AZ unless there are more readers than other AZs.
            zone = zones[index % len(zones)]
            depends_on = instances[:1]  # readers wait, so the first instance is the writer
            instance = aws.rds.ClusterInstance(
                f"{self._name}-instance-{index + 1}",
                identifier=f"{identifier}-{index + 1}",
                cluster_identifier=cluster.id,
                engine=cluster.engine,
                engine_version=cluster.engine_version,
                instance_class="db.serverless",
                availability_zone=zone,
                db_subnet_group_name=self._subnet_group.name,
                publicly_accessible=False,
                # Readers in tier 1 scale with the writer, so a failover lands on a warm instance.
                promotion_tier=0 if index == 0 else 1,
                ca_cert_identifier=CA_CERTIFICATE,
                # Aurora versions are a reviewed pin (platform:database.engineVersion, major.minor):
                # AWS-applied minor upgrades would leave the cluster ahead of its pin, and the next
                # `pulumi up` would try to downgrade it.
                auto_minor_version_upgrade=False,
                copy_tags_to_snapshot=True,
                apply_immediately=False,
                **self._performance_insights(),
                opts=pulumi.ResourceOptions(
                    parent=self, protect=args.protect, depends_on=depends_on, ignore_changes=self._hold()
                ),
            )
            instances.append(instance)

        return {
            "identifier": cluster.cluster_identifier,
            "arn": cluster.arn,
            "endpoint": cluster.endpoint,
            "reader_endpoint": cluster.reader_endpoint,
            "port": cluster.port,
            "instance_identifiers": [instance.identifier for instance in instances],
            "cluster_identifier": cluster.cluster_identifier,
            "log_group_names": [group.name for group in log_groups],
        }

    # -- business hours --------------------------------------------------------------------

    def _schedule_business_hours(
        self, physical: str, schedule: ScheduleSettings, hours: DatabaseHours, server: dict[str, Any]
    ) -> dict[str, Any]:
        """EventBridge Scheduler starts the database before the tasks and stops it after them.

        One start and one stop schedule per month of the horizon name that month's open days, so
        nothing starts on a closed day. RDS starts a database by itself once it has been stopped
        for 7 days; a closed stretch that long gets a stop on its eighth day. A failed start or
        stop lands in an encrypted dead-letter queue and raises the AWS/Scheduler alarms
        (components/monitoring.py) on the schedule group.
        """
        noun, key = (
            ("DBCluster", "DbClusterIdentifier") if self._aurora else ("DBInstance", "DbInstanceIdentifier")
        )
        account_id = server["arn"].apply(lambda arn: arn.split(":")[4])
        region = server["arn"].apply(lambda arn: arn.split(":")[3])

        # Scheduler names the schedule GROUP as aws:SourceArn when it assumes the role (a schedule
        # or name-prefix ARN never matches), so the schedules get a group of their own.
        group = aws.scheduler.ScheduleGroup(f"{self._name}-schedules", name=physical, opts=self._child)
        # A standard queue (Scheduler refuses FIFO ones as a DLQ); Scheduler sends with the
        # schedule's execution role, which therefore needs sqs:SendMessage
        # (https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html).
        dead_letters = aws.sqs.Queue(
            f"{self._name}-schedule-dlq",
            name=f"{physical}-schedule-dlq",
            kms_master_key_id=self._args.kms_key_arn,
            # SQS's maximum, for the failed start or stop to be read after a long weekend.
            message_retention_seconds=14 * 24 * 3600,
            opts=self._child,
        )
        role = aws.iam.Role(
            f"{self._name}-scheduler-role",
            name=f"{physical}-scheduler",
            description=f"EventBridge Scheduler stops and starts {physical} outside business hours",
            assume_role_policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "scheduler.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                            "Condition": {
                                "StringEquals": {"aws:SourceAccount": account_id},
                                "ArnEquals": {"aws:SourceArn": group.arn},
                            },
                        }
                    ],
                }
            ),
            opts=self._child,
        )
        policy = aws.iam.RolePolicy(
            f"{self._name}-scheduler-policy",
            role=role.id,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": [f"rds:Stop{noun}", f"rds:Start{noun}"],
                            "Resource": server["arn"],
                        },
                        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": dead_letters.arn},
                        {
                            # A producer to a queue encrypted with a customer-managed key needs
                            # these two on the key (SQS Developer Guide, "Key management").
                            "Effect": "Allow",
                            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                            "Resource": self._args.kms_key_arn,
                            "Condition": {
                                "StringEquals": {
                                    "kms:ViaService": pulumi.Output.concat("sqs.", region, ".amazonaws.com")
                                }
                            },
                        },
                    ],
                }
            ),
            opts=self._child,
        )
        target_input = server["identifier"].apply(lambda identifier: json.dumps({key: identifier}))
        schedules = [("start", month, cron) for month, cron in hours.starts.items()]
        schedules += [("stop", month, cron) for month, cron in hours.stops.items()]
        for action, month, cron in schedules:
            aws.scheduler.Schedule(
                f"{self._name}-{action}-{month}",
                name=f"{physical}-{action}-{month}",
                group_name=group.name,
                description=f"{action.capitalize()} {physical} on the open days of {month} "
                f"({schedule.weekdays} {schedule.start}-{schedule.stop}, closed days excepted)",
                schedule_expression=cron,
                schedule_expression_timezone=hours.timezone,
                flexible_time_window={"mode": "OFF"},
                target={
                    "arn": f"arn:aws:scheduler:::aws-sdk:rds:{action}{noun}",
                    "role_arn": role.arn,
                    "input": target_input,
                    "dead_letter_config": {"arn": dead_letters.arn},
                    # A late start or stop is still worth doing; after an hour it is not.
                    "retry_policy": {"maximum_event_age_in_seconds": 3600, "maximum_retry_attempts": 10},
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
            )
        return {"schedule_group_name": group.name, "dead_letter_queue_name": dead_letters.name}
