"""The project's backup and restore commands, round-tripped through a real local PostgreSQL.

The server is Debian's ``postgresql`` package (``.ci/run`` installs it), started by the fixture
in a temporary directory as the unprivileged ``postgres`` user when the tests run as root
(``initdb`` and ``postgres`` refuse to run as root). Outside CI a machine without PostgreSQL
skips these tests; under CI (``CI`` set, as GitHub Actions does) they fail instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools import backup

ROOT = Path(__file__).resolve().parents[1]
PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def _pg_tool(name: str) -> str | None:
    for directory in PG_BIN_DIRS:
        if (directory / name).exists():
            return str(directory / name)
    return shutil.which(name)


def _require_postgres() -> tuple[str, str]:
    initdb, pg_ctl = _pg_tool("initdb"), _pg_tool("pg_ctl")
    if not (initdb and pg_ctl and shutil.which("pg_dump") and shutil.which("pg_restore")):
        message = "PostgreSQL server and client are not installed (apt-get install -y postgresql)"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must run the real round trip")
        pytest.skip(message)
    return initdb, pg_ctl


def _as_server_user(argv: list[str]) -> list[str]:
    # As root, run the server as Debian's postgres user; otherwise as ourselves.
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A running PostgreSQL on 127.0.0.1 with trust authentication; yields its base URL."""
    initdb, pg_ctl = _require_postgres()
    home = Path(tempfile.mkdtemp(prefix="pg-backup-test-"))
    data = home / "data"
    if os.geteuid() == 0:
        shutil.chown(home, "postgres", "postgres")
    port = _free_port()
    subprocess.run(
        _as_server_user([initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]),
        check=True,
        capture_output=True,
    )
    options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={home}"
    subprocess.run(
        _as_server_user([pg_ctl, "-D", str(data), "-o", options, "-l", str(home / "log"), "-w", "start"]),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(_as_server_user([pg_ctl, "-D", str(data), "-m", "fast", "stop"]), capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


def psql(url: str, sql: str) -> str:
    done = subprocess.run(
        ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
        env={**os.environ, **backup.libpq_env(url)},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def run_backup_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The project's own command, as the scheduled job runs it."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    return subprocess.run(
        [sys.executable, "-m", "tools.backup", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


SCHEMA = """
create table customers (id bigserial primary key, name text not null, email text unique, joined date);
create table orders (id bigserial primary key, customer_id bigint references customers(id),
                     total numeric(10, 2) check (total >= 0), items jsonb, placed timestamptz);
create index orders_by_customer on orders (customer_id);
create view big_orders as select * from orders where total > 100;
insert into customers (name, email, joined)
  select 'customer ' || n || ' 山田', 'c' || n || '@example.com', date '2025-01-01' + n from generate_series(1, 500) n;
insert into orders (customer_id, total, items, placed)
  select 1 + n % 500, (n % 997) * 1.25, jsonb_build_object('sku', 'A' || n, 'qty', n % 7),
         timestamptz '2025-06-01 00:00+09' + n * interval '1 minute' from generate_series(1, 3000) n;
delete from orders where id % 10 = 0;  -- sequences ahead of max(id), as in a live database
"""

SNAPSHOT = {
    "customers": "select md5(string_agg(c::text, ',' order by id)) from customers c",
    "orders": "select md5(string_agg(o::text, ',' order by id)) from orders o",
    "counts": "select (select count(*) from customers) || '/' || (select count(*) from orders)",
    "sequence": "select last_value from orders_id_seq",
    "view": "select count(*) from big_orders",
    "index": "select indexdef from pg_indexes where indexname = 'orders_by_customer'",
    "constraint": "select pg_get_constraintdef(oid) from pg_constraint where conname = 'orders_total_check'",
}


def snapshot(url: str) -> dict[str, str]:
    return {name: psql(url, sql) for name, sql in SNAPSHOT.items()}


def test_backup_then_restore_into_a_fresh_database_gives_the_same_data(postgres, tmp_path):
    source, target = f"{postgres}/app", f"{postgres}/restored"
    psql(f"{postgres}/postgres", "create database app")
    psql(f"{postgres}/postgres", "create database restored")
    psql(source, SCHEMA)
    before = snapshot(source)
    assert before["counts"] == "500/2700"
    dump = tmp_path / "platform.dump"

    dumped = run_backup_cli("postgres-dump", "--out", str(dump), DATABASE_URL=source)
    assert dumped.returncode == 0, dumped.stderr
    assert dump.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
    restored = run_backup_cli("postgres-restore", "--in", str(dump), TARGET_DATABASE_URL=target)
    assert restored.returncode == 0, restored.stderr

    assert snapshot(target) == before
    # Writes continue where the source left off: the sequence came across, not just the rows.
    assert psql(target, "insert into orders (customer_id, total) values (1, 5) returning id") == "3001"


def test_a_failed_dump_exits_non_zero_and_leaves_no_file(postgres, tmp_path):
    dump = tmp_path / "missing.dump"

    failed = run_backup_cli("postgres-dump", "--out", str(dump), DATABASE_URL=f"{postgres}/no_such_db")

    assert failed.returncode == 1
    assert "pg_dump exited with" in failed.stderr and "no_such_db" in failed.stderr
    assert not dump.exists()


def test_a_restore_that_fails_halfway_changes_nothing(postgres, tmp_path):
    # --single-transaction --exit-on-error: all or nothing.
    psql(f"{postgres}/postgres", "create database half")
    target = f"{postgres}/half"
    psql(target, "create table keep (x int); insert into keep values (1)")
    dump = tmp_path / "broken.dump"
    dump.write_bytes(b"PGDMP" + b"\0" * 64)

    failed = run_backup_cli("postgres-restore", "--in", str(dump), TARGET_DATABASE_URL=target)

    assert failed.returncode == 1 and "pg_restore exited with" in failed.stderr
    assert psql(target, "select count(*) from keep") == "1"


def test_the_password_travels_in_the_environment_not_in_argv():
    command = backup.postgres_dump(
        "postgresql://postgres.abc:p%40ss%2Fw0rd@aws-0-ap-southeast-1.pooler.supabase.com:5432/postgres"
        "?sslmode=verify-full&sslrootcert=/etc/ssl/supabase.crt",
        Path("out.dump"),
    )

    assert not [arg for arg in command.argv if "p@ss" in arg or "pooler" in arg]
    assert command.env == {
        "PGHOST": "aws-0-ap-southeast-1.pooler.supabase.com",
        "PGPORT": "5432",
        "PGUSER": "postgres.abc",
        "PGPASSWORD": "p@ss/w0rd",
        "PGDATABASE": "postgres",
        "PGSSLMODE": "verify-full",
        "PGSSLROOTCERT": "/etc/ssl/supabase.crt",
    }
    assert command.argv == ("pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file=out.dump")


def test_an_unknown_url_parameter_is_refused_rather_than_dropped():
    with pytest.raises(backup.BackupError, match="unsupported connection parameter 'pgbouncer'"):
        backup.libpq_env("postgresql://u:p@h:6543/postgres?pgbouncer=true")


# -- MongoDB: mongodump/mongorestore are not installable here (not in Debian, PyPI or npm), so only
# the commands and the secret handling are tested; the round trip is the runbook's restore drill.


def test_mongo_commands_use_a_gzip_archive_and_keep_the_uri_out_of_argv(tmp_path):
    config = tmp_path / "tools.yaml"
    dump = backup.mongo_dump(config, tmp_path / "a.archive.gz")
    restore = backup.mongo_restore(config, tmp_path / "a.archive.gz")

    assert dump.argv == ("mongodump", f"--config={config}", f"--archive={tmp_path}/a.archive.gz", "--gzip")
    assert restore.argv[-2:] == ("--gzip", "--drop") and f"--config={config}" in restore.argv
    uri = 'mongodb+srv://backup:pa"ss\\word@cluster0.ab1cd.mongodb.net/app?retryWrites=true'
    assert (
        backup.mongo_config(uri)
        == 'uri: "mongodb+srv://backup:pa\\"ss\\\\word@cluster0.ab1cd.mongodb.net/app?retryWrites=true"\n'
    )


def test_mongo_dump_writes_its_config_privately_and_reports_a_missing_tool(tmp_path, monkeypatch):
    seen: list[tuple[int, str]] = []

    def fake_run(command, *, partial=None):
        config = Path(command.argv[1].removeprefix("--config="))
        seen.append((stat.S_IMODE(config.stat().st_mode), config.read_text()))
        raise backup.BackupError("mongodump is not installed on this machine")

    monkeypatch.setattr(backup, "run", fake_run)
    monkeypatch.setenv("MONGODB_URI", "mongodb+srv://u:secret@c.mongodb.net/app")

    assert backup.main(["mongo-dump", "--out", str(tmp_path / "a.gz")]) == 1
    [(mode, text)] = seen
    assert mode == 0o600 and "secret" in text


# -- the read-only role and the scheduled run --------------------------------------------------

FAKE_AWS = """#!/bin/sh
# Stands in for `aws s3 cp <file> s3://<bucket>/<key> ...`: copies into $FAKE_S3 and records argv
# and whether the key arrived through the environment.
set -e
mkdir -p "$FAKE_S3/$(dirname "${4#s3://}")"
cp "$3" "$FAKE_S3/${4#s3://}"
echo "$* key=${AWS_ACCESS_KEY_ID:-none}" >> "$FAKE_S3/calls"
"""


def test_the_read_only_role_dumps_row_secured_tables_and_cannot_write(postgres, tmp_path, monkeypatch):
    source, target = f"{postgres}/secured", f"{postgres}/secured_copy"
    psql(f"{postgres}/postgres", "create database secured")
    psql(f"{postgres}/postgres", "create database secured_copy")
    # As on Supabase: row-level security on, a policy that shows nothing to other roles.
    psql(
        source,
        SCHEMA + "alter table customers enable row level security;"
        "create policy own on customers using (false);",
    )
    psql(f"{postgres}/postgres", backup.read_only_role_sql("r3ad-only'pw"))  # the documented SQL
    reader = f"postgresql://{backup.READ_ONLY_ROLE}:r3ad-only'pw@{postgres.split('@', 1)[1]}/secured"
    before = snapshot(source)

    # The scheduled command, in-process, with a stand-in `aws` and Sentry capturing check-ins.
    bin_dir, s3 = tmp_path / "bin", tmp_path / "s3"
    bin_dir.mkdir()
    (bin_dir / "aws").write_text(FAKE_AWS)
    (bin_dir / "aws").chmod(0o755)
    checkins: list[dict] = []
    monkeypatch.setattr(
        backup.urllib.request,
        "urlopen",
        lambda request, timeout: (
            checkins.append({"url": request.full_url, **json.loads(request.data)}) or contextlib.nullcontext()
        ),
    )
    for name, value in {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "FAKE_S3": str(s3),
        "BACKUP_TARGETS": "postgres",
        "BACKUP_BUCKET": "bucket",
        "BACKUP_PREFIX": "backups/",
        "BACKUP_SCHEDULE": "0 18 * * *",
        "DATABASE_URL": reader,
        "AWS_ACCESS_KEY_ID": "AKIATEST",
        "SENTRY_DSN": "https://publickey@o1.ingest.sentry.io/42",
    }.items():
        monkeypatch.setenv(name, value)
    for name in [k for k in os.environ if k.startswith("PG")]:
        monkeypatch.delenv(name)

    assert backup.main(["run"]) == 0

    [archive] = list((s3 / "bucket" / "backups").glob("*/postgres.dump"))
    calls = (s3 / "calls").read_text()
    assert "key=AKIATEST" in calls and "r3ad" not in calls and "AKIATEST " not in calls.split("key=")[0]
    assert [c["status"] for c in checkins] == ["in_progress", "ok"]
    assert checkins[0]["url"] == "https://o1.ingest.sentry.io/api/42/cron/database-backup/publickey/"
    assert checkins[0]["monitor_config"]["schedule"] == {"type": "crontab", "value": "0 18 * * *"}
    restored = run_backup_cli("postgres-restore", "--in", str(archive), TARGET_DATABASE_URL=target)
    assert restored.returncode == 0, restored.stderr
    assert snapshot(target) == before  # every row, row security notwithstanding
    with pytest.raises(subprocess.CalledProcessError):
        psql(reader, "insert into orders (customer_id, total) values (1, 5)")


def test_a_failed_run_exits_non_zero_and_reports_an_error(postgres, monkeypatch):
    checkins: list[str] = []
    monkeypatch.setattr(
        backup.urllib.request,
        "urlopen",
        lambda request, timeout: (
            checkins.append(json.loads(request.data)["status"]) or contextlib.nullcontext()
        ),
    )
    monkeypatch.setenv("BACKUP_TARGETS", "postgres")
    monkeypatch.setenv("BACKUP_BUCKET", "bucket")
    monkeypatch.setenv("DATABASE_URL", f"{postgres}/no_such_db")
    monkeypatch.setenv("SENTRY_DSN", "https://publickey@o1.ingest.sentry.io/42")

    assert backup.main(["run"]) == 1
    assert checkins == ["in_progress", "error"]
