"""Back up and restore the pre-commercial databases: Supabase PostgreSQL and Atlas MongoDB.

    python -m tools.backup postgres-dump  --out platform.dump      # reads DATABASE_URL
    python -m tools.backup postgres-restore --in platform.dump     # writes TARGET_DATABASE_URL
    python -m tools.backup mongo-dump     --out platform.archive.gz  # reads MONGODB_URI
    python -m tools.backup mongo-restore  --in platform.archive.gz   # writes TARGET_MONGODB_URI
    python -m tools.backup run            # the scheduled job: dump BACKUP_TARGETS, upload to S3

Connection strings come from the environment, never from the command line, and never reach a
child's argv either (``/proc/<pid>/cmdline`` is readable by every local user): PostgreSQL's
are split into libpq's ``PG*`` variables, MongoDB's go into a mode-0600 ``--config`` file that
``mongodump``/``mongorestore`` read (MongoDB Database Tools ``--config``: YAML with ``uri``).

* ``postgres-dump``: ``pg_dump --format=custom`` (compressed, restorable table by table with
  ``pg_restore``) of the whole database without owners or grants, so it restores into any
  database whose user may create the objects. Use Supabase's **session** pooler (port 5432) or the
  direct host: ``pg_dump`` keeps one transaction open and sets session state, which the
  transaction pooler (6543) does not keep. The client's major version must be at least the
  server's (Supabase runs PostgreSQL 15 or 17).
* ``postgres-restore``: ``pg_restore --clean --if-exists --no-owner --no-privileges
  --exit-on-error --single-transaction`` into the target: all or nothing.
* ``mongo-dump`` / ``mongo-restore``: ``mongodump --archive --gzip`` / ``mongorestore --archive
  --gzip --drop``. The tools are not packaged for Debian, PyPI or npm; install MongoDB's
  Database Tools where the job runs.

* ``run`` (the Render cron job, backup/Dockerfile): dumps each of ``BACKUP_TARGETS``
  (``postgres``, ``mongo``) into a temporary directory and uploads it with ``aws s3 cp`` to
  ``s3://$BACKUP_BUCKET/$BACKUP_PREFIX<UTC stamp>/postgres.dump`` and ``.../mongo.archive.gz``;
  the AWS key comes from ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` (write-only, see
  components/backup.py). With ``SENTRY_DSN`` set it reports each run to a Sentry cron monitor
  (``in_progress``, then ``ok`` or ``error``), which it creates or updates with
  ``BACKUP_SCHEDULE``: Sentry opens an issue for a failed, overdue or missed run.

Every command exits non-zero when the tool fails, and removes a partial output file, so the
scheduler reports the failure and no truncated dump is mistaken for a backup.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

# libpq's URL query keywords that have a PG* environment variable (PostgreSQL docs, "Environment
# Variables" and "Parameter Key Words").
_LIBPQ_QUERY_ENV = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "application_name": "PGAPPNAME",
    "options": "PGOPTIONS",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
}


class BackupError(Exception):
    """A backup or restore step failed; the message says which and why."""


@dataclass(frozen=True)
class Command:
    """A child process to run: argv without secrets, and the environment that carries them."""

    argv: tuple[str, ...]
    env: Mapping[str, str]


def libpq_env(url: str) -> dict[str, str]:
    """``PG*`` variables for a ``postgresql://`` URL, so the password stays out of argv."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres") or not (parts.hostname or "host=" in parts.query):
        raise BackupError("not a postgresql:// URL with a host (value not shown: it holds a password)")
    env = {
        "PGHOST": parts.hostname or "",
        "PGPORT": str(parts.port or 5432),
        "PGUSER": urllib.parse.unquote(parts.username or ""),
        "PGPASSWORD": urllib.parse.unquote(parts.password or ""),
        "PGDATABASE": urllib.parse.unquote(parts.path.lstrip("/")) or "postgres",
    }
    for key, values in urllib.parse.parse_qs(parts.query).items():
        if key == "host":
            env["PGHOST"] = values[-1]
        elif key == "port":
            env["PGPORT"] = values[-1]
        elif key in _LIBPQ_QUERY_ENV:
            env[_LIBPQ_QUERY_ENV[key]] = values[-1]
        else:
            raise BackupError(f"unsupported connection parameter {key!r} in the URL")
    return {k: v for k, v in env.items() if v}


def postgres_dump(url: str, out: Path) -> Command:
    return Command(
        (
            "pg_dump",
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            f"--file={out}",
        ),
        libpq_env(url),
    )


def postgres_restore(url: str, dump: Path) -> Command:
    return Command(
        (
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={libpq_env(url)['PGDATABASE']}",
            str(dump),
        ),
        libpq_env(url),
    )


def mongo_config(uri: str) -> str:
    """The ``--config`` YAML of the MongoDB Database Tools holding the URI (and so its password)."""
    parts = urllib.parse.urlsplit(uri)
    if parts.scheme not in ("mongodb", "mongodb+srv") or not parts.hostname:
        raise BackupError("not a mongodb:// or mongodb+srv:// URI (value not shown: it holds a password)")
    # A YAML double-quoted scalar: escape backslashes and quotes.
    quoted = uri.replace("\\", "\\\\").replace('"', '\\"')
    return f'uri: "{quoted}"\n'


def mongo_dump(config: Path, out: Path) -> Command:
    return Command(("mongodump", f"--config={config}", f"--archive={out}", "--gzip"), {})


def mongo_restore(config: Path, archive: Path) -> Command:
    return Command(("mongorestore", f"--config={config}", f"--archive={archive}", "--gzip", "--drop"), {})


READ_ONLY_ROLE = "platform_backup"


def read_only_role_sql(password: str) -> str:
    """The one-off SQL that creates the job's PostgreSQL role: it reads every row and writes nothing.

    ``pg_read_all_data`` (PostgreSQL 14+, "Predefined Roles") reads every table, view and sequence
    and uses every schema; ``BYPASSRLS`` because ``pg_dump`` turns row security off and refuses to
    dump a table with row-level security otherwise (pg_dump docs, ``--enable-row-security``), and
    Supabase's tables usually have it on. Run it once as ``postgres`` (docs/backup.md).
    """
    quoted = password.replace("'", "''")
    return (
        f"create role {READ_ONLY_ROLE} with login bypassrls password '{quoted}';\n"
        f"grant pg_read_all_data to {READ_ONLY_ROLE};\n"
        f"alter role {READ_ONLY_ROLE} set default_transaction_read_only = on;\n"
    )


def s3_upload(path: Path, bucket: str, key: str) -> Command:
    """``aws s3 cp`` of one archive; the credentials stay in the inherited environment."""
    return Command(("aws", "s3", "cp", str(path), f"s3://{bucket}/{key}", "--only-show-errors"), {})


def sentry_checkin_url(dsn: str, monitor: str) -> str:
    """Sentry's HTTP check-in endpoint of a cron monitor for a DSN ``https://<key>@<host>/<project>``
    (https://docs.sentry.io/product/crons/getting-started/http/)."""
    parts = urllib.parse.urlsplit(dsn)
    project = parts.path.strip("/").rsplit("/", 1)[-1]
    if parts.scheme != "https" or not parts.username or not parts.hostname or not project.isdigit():
        raise BackupError("SENTRY_DSN is not a Sentry DSN https://<key>@<host>/<project id>")
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    return f"https://{host}/api/{project}/cron/{monitor}/{parts.username}/"


MONITOR_SLUG = "database-backup"


def check_in(dsn: str, status: str, schedule: str, *, timeout: float = 10.0) -> None:
    """Report the run to Sentry, creating or updating the monitor; a failure to report is printed,
    never fatal (the run's own exit code still tells Render)."""
    body = {
        "status": status,
        "environment": "production",
        "monitor_config": {
            "schedule": {"type": "crontab", "value": schedule},
            "timezone": "UTC",  # Render's schedules are in UTC
            "checkin_margin": 30,  # minutes late before Sentry calls the run missed
            "max_runtime": 120,  # minutes in progress before Sentry calls it failed
            "failure_issue_threshold": 1,
            "recovery_threshold": 1,
        },
    }
    request = urllib.request.Request(
        sentry_checkin_url(dsn, MONITOR_SLUG),
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            pass
    except OSError as error:
        print(f"run: could not report {status!r} to Sentry ({error})", file=sys.stderr)


ARCHIVE_NAMES = {"postgres": "postgres.dump", "mongo": "mongo.archive.gz"}


def backup_run(now: datetime) -> list[str]:
    """Dump every target and upload it; returns the S3 keys written."""
    targets = [t for t in _required_env("BACKUP_TARGETS").split(",") if t]
    unknown = sorted(set(targets) - set(ARCHIVE_NAMES))
    if unknown:
        raise BackupError(f"BACKUP_TARGETS has {unknown}; allowed: {sorted(ARCHIVE_NAMES)}")
    bucket = _required_env("BACKUP_BUCKET")
    prefix = os.environ.get("BACKUP_PREFIX", "")
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    keys: list[str] = []
    with tempfile.TemporaryDirectory(prefix="backup-") as directory:
        for target in targets:
            path = Path(directory) / ARCHIVE_NAMES[target]
            if target == "postgres":
                run(postgres_dump(_required_env("DATABASE_URL"), path), partial=path)
            else:
                uri = _required_env("MONGODB_URI")
                _with_mongo_config(uri, lambda c, path=path: run(mongo_dump(c, path), partial=path))
            key = f"{prefix}{stamp}/{path.name}"
            run(s3_upload(path, bucket, key))
            keys.append(key)
    return keys


def run(command: Command, *, partial: Path | None = None) -> None:
    """Run a command with the secrets in its environment; a failure removes ``partial``."""
    env = {**os.environ, **command.env}
    try:
        done = subprocess.run(command.argv, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise BackupError(f"{command.argv[0]} is not installed on this machine") from None
    if done.returncode != 0:
        if partial is not None:
            partial.unlink(missing_ok=True)
        detail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise BackupError(f"{command.argv[0]} exited with {done.returncode}: " + " | ".join(detail))


def _required_env(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise BackupError(f"{name} is not set")
    return value


def _with_mongo_config(uri: str, body) -> None:
    with tempfile.TemporaryDirectory(prefix="mongo-config-") as directory:
        config = Path(directory) / "tools.yaml"
        config.touch(mode=0o600)
        config.write_text(mongo_config(uri))
        body(config)


def _scheduled_run() -> int:
    dsn = os.environ.get("SENTRY_DSN", "").strip()
    schedule = os.environ.get("BACKUP_SCHEDULE", "").strip()
    if dsn:
        check_in(dsn, "in_progress", schedule)
    try:
        keys = backup_run(datetime.now(UTC))
    except BackupError as error:
        print(f"run: {error}", file=sys.stderr)
        if dsn:
            check_in(dsn, "error", schedule)
        return 1
    if dsn:
        check_in(dsn, "ok", schedule)
    print("run: done (" + ", ".join(keys) + ")")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.backup", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    for action, flag in (
        ("postgres-dump", "--out"),
        ("postgres-restore", "--in"),
        ("mongo-dump", "--out"),
        ("mongo-restore", "--in"),
    ):
        sub.add_parser(action).add_argument(flag, dest="path", type=Path, required=True)
    sub.add_parser("run", help="the scheduled job: dump BACKUP_TARGETS and upload them to S3")
    args = parser.parse_args(argv)
    if args.action == "run":
        return _scheduled_run()
    path: Path = args.path
    try:
        if args.action == "postgres-dump":
            run(postgres_dump(_required_env("DATABASE_URL"), path), partial=path)
        elif args.action == "postgres-restore":
            run(postgres_restore(_required_env("TARGET_DATABASE_URL"), path))
        elif args.action == "mongo-dump":
            _with_mongo_config(_required_env("MONGODB_URI"), lambda c: run(mongo_dump(c, path), partial=path))
        else:
            _with_mongo_config(_required_env("TARGET_MONGODB_URI"), lambda c: run(mongo_restore(c, path)))
    except BackupError as error:
        print(f"{args.action}: {error}", file=sys.stderr)
        return 1
    print(f"{args.action}: done ({path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
