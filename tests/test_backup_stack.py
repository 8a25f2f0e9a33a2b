"""The pre-commercial backups under the mocks: the bucket, the writer's key, the cron job, the
Atlas backup user, and the settings that refuse a bad schedule or retention."""

from __future__ import annotations

import json

import pytest

from components.settings import SettingsError, parse_settings
from tests.iam_eval import Principal
from tools.harness import run_stack
from tools.mocks import Secret, reveal

STACK = "prod-precommercial"
BUCKET = "platform-prod-precommercial-backups-123456789012"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"


@pytest.fixture(scope="module")
def run():
    return run_stack(STACK)


def test_the_bucket_is_locked_versioned_encrypted_private_and_expires_after_the_retention(run):
    [bucket] = run.of_type("aws:s3/bucket:Bucket")
    assert bucket["bucket"] == BUCKET and bucket["objectLockEnabled"] is True
    assert bucket["forceDestroy"] is False and bucket.protect
    assert run.one("aws:s3/bucketVersioning:BucketVersioning")["versioningConfiguration"] == {
        "status": "Enabled"
    }
    lock = run.one("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")
    # The committed stack file: 35 days in governance mode.
    assert lock["rule"] == {"defaultRetention": {"mode": "GOVERNANCE", "days": 35}}
    encryption = run.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    assert encryption["rules"] == [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]
    block = run.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(
        block[k] is True
        for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    [expire, markers] = run.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")["rules"]
    # Expired the day after the lock ends: an earlier expiry would only add a delete marker
    # on a version S3 still refuses to remove (S3 User Guide, object-lock.html).
    assert expire["expiration"] == {"days": 36} and expire["filter"] == {"prefix": "backups/"}
    assert expire["noncurrentVersionExpiration"] == {"noncurrentDays": 1}
    assert markers["expiration"] == {"expiredObjectDeleteMarker": True}


def test_the_bucket_refuses_plain_http(run):
    policy = json.loads(run.one("aws:s3/bucketPolicy:BucketPolicy")["policy"])
    bucket = Principal(
        policies=[{"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}],
        resource_policies=[policy],
    )
    assert not bucket.allows("s3:GetObject", f"{BUCKET_ARN}/backups/x", {"aws:SecureTransport": "false"})
    assert bucket.allows("s3:GetObject", f"{BUCKET_ARN}/backups/x", {"aws:SecureTransport": "true"})


def test_the_writer_can_only_put_archives(run):
    user = run.one("aws:iam/user:User")
    assert user["name"] == "platform-prod-precommercial-backup-writer"
    # The deploy role creates users only with the stack's boundary (bootstrap/github_oidc.py).
    assert user["permissionsBoundary"] == (
        "arn:aws:iam::123456789012:policy/platform-github-prod-precommercial-boundary"
    )
    writer = Principal(policies=[run.one("aws:iam/userPolicy:UserPolicy")["policy"]])
    archive = f"{BUCKET_ARN}/backups/20250601T180000Z/postgres.dump"
    assert writer.allows("s3:PutObject", archive)
    for action in (
        "s3:GetObject",
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
        "s3:PutObjectRetention",  # shortening an archive's lock
        "s3:BypassGovernanceRetention",
        "s3:PutLifecycleConfiguration",
    ):
        assert not writer.allows(action, archive), action
    assert not writer.allows("s3:ListBucket", BUCKET_ARN)
    assert not writer.allows("s3:PutObject", f"{BUCKET_ARN}/elsewhere/x")


def _job_env(run) -> dict:
    env = run.one("render:services:EnvVarsForService", "backup-job")
    assert isinstance(env.inputs["envVars"], Secret)  # the whole list: it holds secrets
    return {v["key"]: v["value"] for v in env["envVars"]}


def test_the_cron_job_runs_the_projects_command_daily_at_three_in_tokyo(run):
    job = run.one("render:services:CronJob")
    details = job["serviceDetails"]
    assert details["schedule"] == "0 18 * * *"  # 18:00 UTC = 03:00 JST; Render schedules are UTC
    assert details["region"] == "singapore" and details["runtime"] == "docker"
    assert details["envSpecificDetails"] == {
        "dockerfilePath": "./backup/Dockerfile",
        "dockerContext": ".",
        "dockerCommand": "python -m tools.backup run",
    }
    assert job["repo"] == "https://github.com/example-org/platform" and job["ownerId"].startswith("tea-")
    # envVars is not in Render's PATCH schema (cronJobPatch): a diff there would replace the job.
    assert "envVars" in job.ignore_changes
    env = _job_env(run)
    assert env["BACKUP_TARGETS"] == "postgres,mongo" and env["BACKUP_BUCKET"] == BUCKET
    assert env["BACKUP_PREFIX"] == "backups/" and env["AWS_REGION"] == "ap-northeast-1"
    assert env["BACKUP_SCHEDULE"] == "0 18 * * *"


def test_the_jobs_credentials_are_secrets_and_read_only_where_the_service_allows(run):
    env = _job_env(run)
    key = run.one("aws:iam/accessKey:AccessKey")
    assert env["AWS_ACCESS_KEY_ID"] == key.id and env["AWS_SECRET_ACCESS_KEY"] == key.outputs["secret"]
    # PostgreSQL as the read-only role, through the session pooler (pg_dump needs session mode).
    assert env["DATABASE_URL"].startswith("postgresql://platform_backup.")
    assert ":5432/postgres?sslmode=require" in env["DATABASE_URL"]
    assert env["MONGODB_URI"].startswith("mongodb+srv://backup:")
    assert env["SENTRY_DSN"].startswith("https://")
    # The backup project's DSN, not the API's.
    dsn = {r.name: r.outputs["dsnPublic"] for r in run.of_type("sentry:index/sentryKey:SentryKey")}
    assert env["SENTRY_DSN"] == dsn["sentry-backup-key"]
    exported = json.dumps(reveal(run.outputs))
    assert key.outputs["secret"] not in exported and "platform_backup" not in exported


def test_the_atlas_backup_user_has_only_the_backup_role_on_this_cluster(run):
    [user] = [
        u for u in run.of_type("mongodbatlas:index/databaseUser:DatabaseUser") if u["username"] == "backup"
    ]
    assert user["roles"] == [{"roleName": "backup", "databaseName": "admin"}]
    assert user["scopes"] == [{"name": "main", "type": "CLUSTER"}]
    assert isinstance(user.inputs["password"], Secret)


def test_without_atlas_the_job_dumps_postgres_only_and_as_owner_when_asked():
    run = run_stack(
        STACK,
        {"platform:atlas": {"enabled": False}, "platform:backup": {"postgresReadOnly": False}},
    )
    env = _job_env(run)
    assert env["BACKUP_TARGETS"] == "postgres" and "MONGODB_URI" not in env
    assert env["DATABASE_URL"].startswith("postgresql://postgres.")


def test_backups_off_build_nothing_in_aws_and_need_no_region():
    run = run_stack(STACK, {"platform:backup": {"enabled": False}})
    assert not [r for r in run.resources if r.type.startswith("aws:") or r.type == "render:services:CronJob"]


# -- settings ---------------------------------------------------------------------------------

BASE = {"topology": "pre-commercial", "vercel": {"teamId": "team_abc123"}}


def problems(backup: dict) -> list[str]:
    with pytest.raises(SettingsError) as error:
        parse_settings({**BASE, "backup": backup}, region="ap-northeast-1")
    return error.value.problems


@pytest.mark.parametrize(
    ("schedule", "says"),
    [
        ("0 3 * *", "five-field cron expression in UTC"),
        ("60 18 * * *", "minute '60' is not a number from 0 to 59"),
        ("0 24 * * *", "hour '24' is not a number from 0 to 23"),
        ("0 18 * * MON-XYZ", "day of week 'XYZ'"),
        ("*/0 * * * *", "minute step '0' must be a positive number"),
        ("0 18 * * FRI-MON", "runs backwards"),
    ],
)
def test_a_bad_schedule_is_refused_naming_the_key(schedule, says):
    [problem] = problems({"schedule": schedule})
    assert problem.startswith("platform:backup.schedule: ") and says in problem
    assert repr(schedule) in problem  # the bad value is quoted


@pytest.mark.parametrize("schedule", ["0 18 * * *", "*/30 1-5 * * mon-fri", "15 18 1,15 jan-dec 0,7"])
def test_good_schedules_pass(schedule):
    assert (
        parse_settings({**BASE, "backup": {"schedule": schedule}}, region="ap-northeast-1").backup.schedule
        == schedule
    )


@pytest.mark.parametrize(
    ("days", "bound"), [(6, "greater than or equal to 7"), (3651, "less than or equal to 3650")]
)
def test_retention_bounds(days, bound):
    [problem] = problems({"retentionDays": days})
    assert problem.startswith("platform:backup.retentionDays: ") and bound in problem


def test_backup_is_not_a_setting_of_the_aws_topologies():
    with pytest.raises(SettingsError, match="platform:backup: not used by the staging topology"):
        parse_settings({"topology": "staging", "backup": {"enabled": True}}, region="ap-northeast-1")
