"""Database: RDS PostgreSQL (staging) and Aurora Serverless v2 (commercial) under the recording mocks."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pulumi
import pytest

from components.database import Database, DatabaseArgs
from components.database_roles import scram_sha256_verifier
from components.settings import PRESETS, DatabaseSettings, ScheduleSettings
from tests.aws_cron import Cron
from tools.harness import Run, run_stack
from tools.mocks import Captured, Secret

# A Wednesday in December, in business hours; and the same evening, with the database stopped.
DAYTIME = datetime(2026, 12, 2, 11, 0)
NIGHT = datetime(2026, 12, 2, 22, 0)
CONFIG = {"aws:region": "ap-northeast-1", "platform:topology": "staging"}
KEY = "arn:aws:kms:ap-northeast-1:123456789012:key/0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"
PRIVATE_SUBNETS = ["subnet-0private0a", "subnet-0private0c", "subnet-0private0d"]
ZONES = ["ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"]
VPC = "vpc-0staging"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
RDS = "aws:rds/instance:Instance"
CLUSTER = "aws:rds/cluster:Cluster"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
SCHEDULE = "aws:scheduler/schedule:Schedule"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


def _run(
    settings: DatabaseSettings,
    schedule: ScheduleSettings | None,
    *,
    prefix: str,
    protect: bool,
    zones: list[str] = ZONES,
    now: datetime | None = None,
) -> Run:
    def program() -> None:
        database = Database(
            "db",
            DatabaseArgs(
                settings=settings,
                schedule=schedule,
                name_prefix=prefix,
                subnet_ids=PRIVATE_SUBNETS[: len(zones)],
                vpc_id=VPC,
                kms_key_arn=KEY,
                availability_zones=zones,
                protect=protect,
                now=now or DAYTIME,
            ),
        )
        pulumi.export("url", database.url)
        pulumi.export("master_url", database.master_url)
        pulumi.export("app_password_verifier", database.app_password_verifier)
        pulumi.export("password", database.password)
        pulumi.export("endpoint", database.endpoint)
        pulumi.export("reader_endpoint", database.reader_endpoint)
        pulumi.export("instance_identifiers", database.instance_identifiers)
        pulumi.export("cluster_identifier", database.cluster_identifier)
        pulumi.export("arn", database.arn)

    return run_stack("staging", config=CONFIG, program=program)


def _staging_settings(**overrides: Any) -> DatabaseSettings:
    return DatabaseSettings.model_validate({**PRESETS["staging"]["database"], **overrides})


def _commercial_settings(**overrides: Any) -> DatabaseSettings:
    return DatabaseSettings.model_validate({**PRESETS["commercial"]["database"], **overrides})


@pytest.fixture(scope="module")
def staging() -> Run:
    return _run(_staging_settings(), ScheduleSettings(), prefix="platform-staging", protect=False)


@pytest.fixture(scope="module")
def production_rds() -> Run:
    """RDS with the production-like defaults: deletion protection, final snapshot, engine protect."""
    return _run(DatabaseSettings(), None, prefix="platform-prod", protect=True)


@pytest.fixture(scope="module")
def aurora() -> Run:
    schedule = ScheduleSettings.model_validate(PRESETS["commercial"]["schedule"])
    return _run(_commercial_settings(), schedule, prefix="platform-commercial", protect=True)


def _plain_strings(value: Any) -> Iterator[str]:
    """Every string in ``value`` that is NOT under a secret marker."""
    if isinstance(value, Secret):
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _plain_strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _plain_strings(item)


def _assert_never_plain(run: Run, secret: str) -> None:
    for resource in run.resources:
        # Inputs of every resource, and what components register as their outputs (custom
        # resources' outputs are the mocks' echo, not what the engine would store).
        seen = [
            *_plain_strings(resource.inputs),
            *([] if resource.custom else _plain_strings(resource.outputs)),
        ]
        assert all(secret not in text for text in seen), f"{resource.name} holds the secret in plain text"
    for name, value in run.outputs.items():
        assert all(secret not in text for text in _plain_strings(value)), f"stack output {name} leaks it"


def _policy(resource: Captured, key: str) -> dict[str, Any]:
    return json.loads(resource[key])


# -- RDS (staging) -------------------------------------------------------------------------


def test_rds_is_encrypted_with_the_stack_key_and_private(staging: Run) -> None:
    instance = staging.one(RDS)
    assert instance["storageEncrypted"] is True
    assert instance["kmsKeyId"] == KEY
    assert instance["publiclyAccessible"] is False
    assert instance["vpcSecurityGroupIds"] == [staging.one(SECURITY_GROUP).id]
    assert instance["engine"] == "postgres"
    assert instance["instanceClass"] == "db.t4g.micro"
    assert instance["storageType"] == "gp3"
    assert instance["caCertIdentifier"] == "rds-ca-rsa2048-g1"
    assert instance["applyImmediately"] is False
    assert instance["autoMinorVersionUpgrade"] is True
    assert instance["copyTagsToSnapshot"] is True


def test_rds_lives_in_the_private_subnets(staging: Run) -> None:
    group = staging.one("aws:rds/subnetGroup:SubnetGroup")
    assert group["subnetIds"] == PRIVATE_SUBNETS
    assert staging.one(RDS)["dbSubnetGroupName"] == group["name"]


def test_rds_parameter_group_forces_tls(staging: Run) -> None:
    group = staging.one("aws:rds/parameterGroup:ParameterGroup")
    assert group["family"] == f"postgres{DatabaseSettings().engine_version.split('.')[0]}"
    parameters = {p["name"]: p["value"] for p in group["parameters"]}
    assert parameters["rds.force_ssl"] == "1"
    assert int(parameters["log_min_duration_statement"]) > 0
    _assert_logs_keep_no_bind_parameters(parameters)
    assert staging.one(RDS)["parameterGroupName"] == group.outputs["name"]


def test_rds_staging_backups_and_disposability_follow_settings(staging: Run) -> None:
    instance = staging.one(RDS)
    assert instance["backupRetentionPeriod"] == 1
    assert instance["deletionProtection"] is False
    assert instance["skipFinalSnapshot"] is True
    assert "finalSnapshotIdentifier" not in instance.inputs
    assert instance.protect is False


def test_rds_backups_and_maintenance_happen_while_the_stopped_database_runs(staging: Run) -> None:
    # 09:00-20:00 Asia/Tokyo is 00:00-11:00 UTC; RDS skips backups of a stopped instance.
    instance = staging.one(RDS)
    start, end = instance["backupWindow"].split("-")
    assert "00:00" <= start < end <= "11:00"
    day, _, clock = instance["maintenanceWindow"].split("-")[0].partition(":")
    assert day in {"mon", "tue", "wed", "thu", "fri"}
    assert "00:00" <= clock <= "10:30"
    assert clock >= end, "maintenance must not overlap the backup window"


def test_rds_production_args_keep_the_data(production_rds: Run) -> None:
    instance = production_rds.one(RDS)
    assert instance.protect is True
    assert instance["deletionProtection"] is True
    assert instance["skipFinalSnapshot"] is False
    assert instance["finalSnapshotIdentifier"].startswith("platform-prod-db")
    assert instance["deleteAutomatedBackups"] is False
    assert instance["backupRetentionPeriod"] == 7


def test_rds_log_groups_are_precreated_with_retention_and_the_key(staging: Run) -> None:
    instance = staging.one(RDS)
    groups = {g["name"]: g for g in staging.of_type(LOG_GROUP)}
    assert set(groups) == {
        "/aws/rds/instance/platform-staging-db/postgresql",
        "/aws/rds/instance/platform-staging-db/upgrade",
    }
    for group in groups.values():
        assert group["retentionInDays"] == 14
        assert group["kmsKeyId"] == KEY
        assert group.urn in instance.dependencies, (
            "RDS would create the group itself, unencrypted and kept forever"
        )
    assert sorted(instance["enabledCloudwatchLogsExports"]) == ["postgresql", "upgrade"]


def test_rds_master_credentials(staging: Run) -> None:
    instance = staging.one(RDS)
    assert isinstance(instance.inputs["password"], Secret)
    assert instance["username"] == "app_admin"
    assert instance["dbName"] == "app"
    password = staging.one("random:index/randomPassword:RandomPassword", "master")
    assert password["length"] == 32
    assert not set(password["overrideSpecial"]) & set('/@" ')


# node-postgres verifies the chain and the host name for every sslmode but disable/no-verify
# (pg-connection-string index.js, brianc/node-postgres#3473), so the URLs say verify-full and name
# the CA file it reads (sslrootcert); tests/test_postgres_tls.py connects with them for real.
TLS = "sslmode=verify-full&sslrootcert=certs/rds-global-bundle.pem"


def test_password_and_urls_are_secret_everywhere(staging: Run) -> None:
    for output in ("password", "url", "master_url", "app_password_verifier"):
        assert isinstance(staging.outputs[output], Secret), output
    password = staging.output("password")
    _assert_never_plain(staging, password)
    host = staging.one(RDS).outputs["address"]
    assert staging.output("master_url") == f"postgresql://app_admin:{password}@{host}:5432/app?{TLS}"


def test_the_api_url_is_the_app_role_not_the_master(staging: Run) -> None:
    app_password = staging.one("random:index/randomPassword:RandomPassword", "app-password").outputs["result"]
    host = staging.one(RDS).outputs["address"]
    assert staging.output("url") == f"postgresql://app_api:{app_password}@{host}:5432/app?{TLS}"
    _assert_never_plain(staging, app_password)
    salt = staging.one("random:index/randomBytes:RandomBytes").outputs["base64"]
    # The verifier is what the admin task sets; it is built from this password and salt.
    assert staging.output("app_password_verifier") == scram_sha256_verifier(
        app_password, base64.b64decode(salt)
    )


def test_rds_reader_endpoint_is_the_endpoint(staging: Run) -> None:
    assert staging.output("reader_endpoint") == staging.output("endpoint")
    assert staging.output("instance_identifiers") == ["platform-staging-db"]
    assert staging.outputs.get("cluster_identifier") is None


def _firings(run: Run, day: date) -> dict[str, list[datetime]]:
    """rds action -> when its schedules fire on ``day``, read as AWS reads the crons."""
    fired: dict[str, list[datetime]] = {}
    for schedule in run.of_type(SCHEDULE):
        action = schedule["target"]["arn"].rsplit(":", 1)[1]
        fired.setdefault(action, []).extend(Cron(schedule["scheduleExpression"]).on(day))
    return {action: sorted(times) for action, times in fired.items() if times}


def test_scheduler_stops_and_starts_rds_in_business_hours(staging: Run) -> None:
    schedules = staging.of_type(SCHEDULE)
    # A start and a stop schedule per month of the 12-month horizon from December 2026.
    assert sorted(s["name"] for s in schedules) == sorted(
        f"platform-staging-db-{action}-{month}"
        for action in ("start", "stop")
        for month in ["2026-12", *(f"2027-{m:02d}" for m in range(1, 12))]
    )
    # Tasks start at 08:45 (warm-up 15 min before 09:00) and stop at 20:00: the database is
    # started 20 minutes before them and stopped 15 minutes after.
    assert _firings(staging, date(2026, 12, 3)) == {
        "startDBInstance": [datetime(2026, 12, 3, 8, 25)],
        "stopDBInstance": [datetime(2026, 12, 3, 20, 15)],
    }
    # New Year's Day and the Vernal Equinox substitute holiday (holidays library): nothing at all.
    assert _firings(staging, date(2027, 1, 1)) == {}
    assert _firings(staging, date(2027, 3, 22)) == {}
    for schedule in schedules:
        assert schedule["scheduleExpressionTimezone"] == "Asia/Tokyo"
        assert schedule["flexibleTimeWindow"] == {"mode": "OFF"}
        assert schedule["target"]["arn"].startswith("arn:aws:scheduler:::aws-sdk:rds:")
        assert json.loads(schedule["target"]["input"]) == {"DbInstanceIdentifier": "platform-staging-db"}


def test_failed_starts_and_stops_go_to_an_encrypted_dead_letter_queue(staging: Run) -> None:
    queue = staging.one("aws:sqs/queue:Queue")
    assert queue["kmsMasterKeyId"] == KEY
    assert "fifoQueue" not in queue.inputs  # Scheduler refuses FIFO dead-letter queues
    for schedule in staging.of_type(SCHEDULE):
        assert schedule["target"]["deadLetterConfig"] == {"arn": queue.outputs["arn"]}
    # Scheduler sends dead letters with the execution role (configuring-schedule-dlq.html), and a
    # producer to a KMS-encrypted queue needs GenerateDataKey and Decrypt on the key.
    statements = _policy(staging.one("aws:iam/rolePolicy:RolePolicy"), "policy")["Statement"]
    by_action = {json.dumps(s["Action"]): s for s in statements}
    assert by_action['"sqs:SendMessage"']["Resource"] == queue.outputs["arn"]
    kms = by_action['["kms:GenerateDataKey", "kms:Decrypt"]']
    assert kms["Resource"] == KEY
    assert kms["Condition"]["StringEquals"]["kms:ViaService"] == "sqs.ap-northeast-1.amazonaws.com"


def test_a_night_update_leaves_the_stopped_database_alone() -> None:
    """RDS refuses to modify a stopped instance (InvalidDBInstanceState): outside business hours
    the instance's inputs are held at their previous values, with a warning saying so."""
    night = _run(_staging_settings(), ScheduleSettings(), prefix="platform-staging", protect=False, now=NIGHT)
    assert night.one(RDS).ignore_changes == ("*",)
    assert any("refuses to modify a stopped database" in w for w in night.warnings)
    assert len(night.of_type(SCHEDULE)) == 24  # the schedules themselves are still updated


@pytest.mark.parametrize(
    ("hour", "minute", "held"),
    [
        (8, 30, True),  # the scheduled start (08:25: 20 minutes before the tasks' 08:45) is still under way
        (8, 50, False),  # available, and stays so for the whole update
        (19, 40, True),  # the stop (20:15: 15 minutes after the tasks' 20:00) may fire mid-update
        (19, 20, False),
    ],
)
def test_updates_near_the_databases_start_and_stop_are_held(hour: int, minute: int, held: bool) -> None:
    # RDS modifies an instance only while it is available ("Stopping an Amazon RDS DB instance
    # temporarily": a stopped, starting or stopping instance refuses ModifyDBInstance).
    run = _run(
        _staging_settings(), ScheduleSettings(), prefix="platform-staging", protect=False,
        now=datetime(2026, 12, 2, hour, minute),
    )  # fmt: skip
    assert (run.one(RDS).ignore_changes == ("*",)) is held


def test_a_daytime_update_applies_to_the_database(staging: Run) -> None:
    assert staging.one(RDS).ignore_changes == ()
    assert not any("stopped database" in w for w in staging.warnings)


def test_scheduler_role_is_scoped_to_this_instance(staging: Run) -> None:
    role = staging.one("aws:iam/role:Role", "scheduler")
    [trust] = _policy(role, "assumeRolePolicy")["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"
    # Scheduler presents the schedule GROUP's ARN as aws:SourceArn; a schedule ARN never matches.
    group = staging.one("aws:scheduler/scheduleGroup:ScheduleGroup")
    source_arn = trust["Condition"]["ArnEquals"]["aws:SourceArn"]
    assert source_arn == group.outputs["arn"]
    assert ":schedule-group/" in source_arn
    statement = _policy(staging.one("aws:iam/rolePolicy:RolePolicy"), "policy")["Statement"][0]
    assert sorted(statement["Action"]) == ["rds:StartDBInstance", "rds:StopDBInstance"]
    assert statement["Resource"] == staging.one(RDS).outputs["arn"] == staging.output("arn")
    for schedule in staging.of_type(SCHEDULE):
        assert schedule["target"]["roleArn"] == role.outputs["arn"]
        assert schedule["groupName"] == group.outputs["name"]


@pytest.mark.parametrize(
    "schedule",
    [None, ScheduleSettings(enabled=False), ScheduleSettings(mode="scale-down")],
    ids=["no-schedule", "disabled", "scale-down"],
)
def test_no_scheduler_unless_stop_mode(schedule: ScheduleSettings | None) -> None:
    run = _run(_staging_settings(), schedule, prefix="platform-staging", protect=False)
    assert run.of_type(SCHEDULE) == []
    assert run.of_type("aws:iam/role:Role") == []
    assert "backupWindow" not in run.one(RDS).inputs


# -- Aurora Serverless v2 (commercial) -----------------------------------------------------


def test_aurora_cluster_is_encrypted_private_and_protected(aurora: Run) -> None:
    cluster = aurora.one(CLUSTER)
    assert cluster["engine"] == "aurora-postgresql"
    assert cluster["engineMode"] == "provisioned"
    assert cluster["storageEncrypted"] is True
    assert cluster["kmsKeyId"] == KEY
    assert cluster["vpcSecurityGroupIds"] == [aurora.one(SECURITY_GROUP).id]
    assert cluster["dbSubnetGroupName"] == aurora.one("aws:rds/subnetGroup:SubnetGroup")["name"]
    assert isinstance(cluster.inputs["masterPassword"], Secret)
    assert cluster["backupRetentionPeriod"] == 14
    assert cluster["deletionProtection"] is True
    assert cluster["skipFinalSnapshot"] is False
    assert cluster["finalSnapshotIdentifier"]
    assert cluster["iamDatabaseAuthenticationEnabled"] is True
    assert cluster["enabledCloudwatchLogsExports"] == ["postgresql"]
    assert cluster.protect is True


def test_aurora_acu_range_follows_settings(aurora: Run) -> None:
    scaling = aurora.one(CLUSTER)["serverlessv2ScalingConfiguration"]
    assert (scaling["minCapacity"], scaling["maxCapacity"]) == (0.5, 4)


def test_aurora_cluster_parameter_group_forces_tls(aurora: Run) -> None:
    group = aurora.one("aws:rds/clusterParameterGroup:ClusterParameterGroup")
    # The family names the major version: aurora-postgresql17 for Aurora PostgreSQL 17.x
    # (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_WorkingWithParamGroups.html).
    assert aurora.one(CLUSTER)["engineVersion"] == "17.7"
    assert group["family"] == "aurora-postgresql17"
    assert {p["name"]: p["value"] for p in group["parameters"]}["rds.force_ssl"] == "1"
    _assert_logs_keep_no_bind_parameters({p["name"]: p["value"] for p in group["parameters"]})
    assert aurora.one(CLUSTER)["dbClusterParameterGroupName"] == group.outputs["name"]


def test_aurora_writer_and_reader_are_serverless_in_different_azs(aurora: Run) -> None:
    writer, reader = sorted(aurora.of_type(CLUSTER_INSTANCE), key=lambda i: i.name)
    assert writer["availabilityZone"] == ZONES[0]
    assert reader["availabilityZone"] == ZONES[1]
    assert writer["promotionTier"] == 0
    assert writer.urn in reader.dependencies, "the first instance created becomes the writer"
    for instance in (writer, reader):
        assert instance["instanceClass"] == "db.serverless"
        assert instance["publiclyAccessible"] is False
        assert instance["clusterIdentifier"] == aurora.one(CLUSTER).outputs["clusterIdentifier"]
        assert instance.protect is True
        assert instance["performanceInsightsEnabled"] is True
        assert instance["performanceInsightsKmsKeyId"] == KEY
        assert instance["performanceInsightsRetentionPeriod"] == 7


def test_aurora_outputs(aurora: Run) -> None:
    assert aurora.output("endpoint") != aurora.output("reader_endpoint")
    assert aurora.output("instance_identifiers") == ["platform-commercial-db-1", "platform-commercial-db-2"]
    assert aurora.output("cluster_identifier") == "platform-commercial-db"
    assert aurora.output("master_url").startswith(f"postgresql://app_admin:{aurora.output('password')}@")
    assert aurora.output("url").startswith("postgresql://app_api:")
    assert aurora.output("url").endswith(f"@{aurora.output('endpoint')}:5432/app?{TLS}")
    _assert_never_plain(aurora, aurora.output("password"))


def test_aurora_log_group(aurora: Run) -> None:
    group = aurora.one(LOG_GROUP)
    assert group["name"] == "/aws/rds/cluster/platform-commercial-db/postgresql"
    assert group["retentionInDays"] == 90
    assert group["kmsKeyId"] == KEY


def test_aurora_in_scale_down_mode_is_never_stopped(aurora: Run) -> None:
    assert aurora.of_type(SCHEDULE) == []


def test_aurora_readers_spread_over_the_other_azs() -> None:
    run = _run(_commercial_settings(readerInstances=2), None, prefix="platform-commercial", protect=True)
    zones = [i["availabilityZone"] for i in sorted(run.of_type(CLUSTER_INSTANCE), key=lambda i: i.name)]
    assert zones == ZONES


def test_aurora_reader_needs_a_second_az() -> None:
    with pytest.raises(Exception, match="second AZ"):
        _run(_commercial_settings(), None, prefix="platform-commercial", protect=True, zones=ZONES[:1])


def test_stopped_aurora_uses_cluster_actions() -> None:
    settings = _commercial_settings(deletionProtection=False, skipFinalSnapshot=True)
    run = _run(settings, ScheduleSettings(), prefix="platform-staging", protect=False)
    actions = sorted({s["target"]["arn"].rsplit(":", 1)[1] for s in run.of_type(SCHEDULE)})
    assert actions == ["startDBCluster", "stopDBCluster"]
    assert json.loads(run.of_type(SCHEDULE)[0]["target"]["input"]) == {
        "DbClusterIdentifier": "platform-staging-db"
    }
    statement = _policy(run.one("aws:iam/rolePolicy:RolePolicy"), "policy")["Statement"][0]
    assert statement["Resource"] == run.one(CLUSTER).outputs["arn"]
    assert sorted(statement["Action"]) == ["rds:StartDBCluster", "rds:StopDBCluster"]
    assert run.one(CLUSTER).protect is False
    assert all(not i.protect for i in run.of_type(CLUSTER_INSTANCE))


def test_leak_check_sees_plain_values_and_skips_secret_ones() -> None:
    assert list(_plain_strings({"a": Secret("x"), "b": ["y"]})) == ["y"]


def test_aurora_minor_upgrades_follow_the_pinned_version_only(aurora: Run) -> None:
    cluster = aurora.one("aws:rds/cluster:Cluster")
    assert cluster["engineVersion"].count(".") == 1
    for instance in aurora.of_type("aws:rds/clusterInstance:ClusterInstance"):
        assert instance["autoMinorVersionUpgrade"] is False
        assert instance["engineVersion"] == cluster["engineVersion"]


def _assert_logs_keep_no_bind_parameters(parameters: dict[str, str]) -> None:
    # PostgreSQL "Error Reporting and Logging": log_statement 'ddl' logs schema changes only;
    # log_parameter_max_length(_on_error) 0 disables logging bind parameter values (PostgreSQL 13+).
    assert parameters["log_statement"] == "ddl"
    assert parameters["log_parameter_max_length"] == "0"
    assert parameters["log_parameter_max_length_on_error"] == "0"


def test_the_database_admits_no_one_until_a_client_is_admitted() -> None:
    # A security group with no inbound rule admits nothing (VPC User Guide, "Security group
    # rules": "by default, a security group includes no inbound rules"); each admitted client
    # gets 5432 from its group, and the client's group its way out to this one.
    def program() -> None:
        database = Database(
            "db",
            DatabaseArgs(
                settings=DatabaseSettings(),
                schedule=None,
                name_prefix="platform-staging",
                subnet_ids=PRIVATE_SUBNETS[:2],
                vpc_id=VPC,
                kms_key_arn=KEY,
                availability_zones=ZONES[:2],
                protect=False,
                now=DAYTIME,
            ),
        )
        database.admit("api", "sg-0api")

    run = run_stack("staging", config=CONFIG, program=program)
    group = run.one(SECURITY_GROUP)
    assert group["vpcId"] == VPC and not group.inputs.get("ingress")
    [ingress] = run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    [egress] = run.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    assert (ingress["securityGroupId"], ingress["referencedSecurityGroupId"]) == (group.id, "sg-0api")
    assert (egress["securityGroupId"], egress["referencedSecurityGroupId"]) == ("sg-0api", group.id)
    for rule in (ingress, egress):
        assert (rule["ipProtocol"], rule["fromPort"], rule["toPort"]) == ("tcp", 5432, 5432)
