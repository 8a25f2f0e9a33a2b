"""The stacks' PostgreSQL URLs against a real PostgreSQL with TLS, through the real node-postgres.

A local server (Debian's ``postgresql`` package) presents a certificate chained to a CA made
here, as RDS, Aurora and Supabase's pooler present chains to CAs that Node does not trust. The
URLs are the ones the committed stacks emit under the harness (the SSM parameters of staging and
commercial, Render's env of pre-commercial) with only the host, the port and, where the local
server's differs, the password replaced. ``certs/`` in the client's working directory holds the
file the URL's relative ``sslrootcert`` names, as the API's image and checkout will.

It then runs the admin task's bootstrap (components/migrations.py, the same node script and SQL
as its task definition) with the master URL, the master being no superuser as on RDS, and checks that the API's role logs in with the
password whose SCRAM verifier the program computed, may read and write rows, and may not change
the schema or create roles.

Needs PostgreSQL's server binaries, openssl, node and ``npm ci`` in tests/node (``.ci/run``
installs them). Outside CI the module skips when they are missing; under ``CI=true`` it fails.
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

from components.migrations import BOOTSTRAP_SCRIPT
from tests.conftest import committed_run
from tools.mocks import Secret

NODE_DIR = Path(__file__).parent / "node"
PROBE = NODE_DIR / "probe.js"
PARAMETER = "aws:ssm/parameter:Parameter"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
MASTER_PASSWORD = "local-master-password"
SUPABASE_PASSWORD = "local-supabase-password"
# The server's certificate names localhost only, so a connection to 127.0.0.1 must fail verify-full.
SERVER_NAME = "localhost"


def _missing() -> list[str]:
    missing = [tool for tool in ("openssl", "node") if shutil.which(tool) is None]
    if not _postgres_bin():
        missing.append("PostgreSQL server binaries (apt-get install postgresql)")
    if not (NODE_DIR / "node_modules" / "pg").is_dir():
        missing.append("node-postgres (npm ci --prefix tests/node)")
    if os.geteuid() == 0 and not _server_user():
        missing.append("a non-root user to run the server as (the postgres user of the Debian package)")
    return missing


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def _server_user() -> str | None:
    try:
        return pwd.getpwnam("postgres").pw_name
    except KeyError:
        return None


missing = _missing()
if missing:
    reason = f"PostgreSQL TLS test needs: {', '.join(missing)}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (.ci/run installs them)", pytrace=False)
    pytestmark = pytest.mark.skip(reason=reason)


# -- a local PostgreSQL with TLS ----------------------------------------------------------


@dataclass(frozen=True)
class Server:
    port: int
    workdir: Path
    ca: Path
    """The CA that signed the server's certificate."""
    other_ca: Path
    """A CA that signed nothing the server presents."""


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _make_certificates(directory: Path) -> None:
    """Two CAs, and a server certificate for localhost signed by the first (EC keys: fast)."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for ca in ("ca", "other-ca"):
        _openssl(
            "req", "-x509", *ec, "-keyout", f"{ca}.key", "-out", f"{ca}.pem", "-days", "2",
            "-subj", f"/CN=platform test {ca}",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            cwd=directory,
        )  # fmt: skip
    _openssl(
        "req",
        "-new",
        *ec,
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
        cwd=directory,
    )
    (directory / "server.ext").write_text(
        f"subjectAltName=DNS:{SERVER_NAME}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
    )
    _openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-extfile", "server.ext", "-out", "server-leaf.pem",
        cwd=directory,
    )  # fmt: skip
    # Like RDS, the server sends its chain up to the root, so a client without the root sees
    # "self-signed certificate in certificate chain", the error the API got.
    chain = (directory / "server-leaf.pem").read_text() + (directory / "ca.pem").read_text()
    (directory / "server.pem").write_text(chain)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    bin_dir = _postgres_bin()
    assert bin_dir is not None
    root = Path(tempfile.mkdtemp(prefix="platform-pg-tls-"))
    keys, data, workdir = root / "keys", root / "data", root / "client"
    keys.mkdir()
    workdir.mkdir()
    _make_certificates(keys)
    (keys / "pwfile").write_text(MASTER_PASSWORD + "\n")
    port = _free_port()

    as_server: list[str] = []
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        user = _server_user()
        assert user is not None
        for path in (root, keys, *keys.iterdir()):
            shutil.chown(path, user)
        as_server = ["runuser", "-u", user, "--"]
    os.chmod(keys / "server.key", 0o600)  # postgres refuses a key others can read

    def run(*command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*as_server, *command], check=True, capture_output=True, text=True)

    run(
        str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", f"--pwfile={keys / 'pwfile'}",
        "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync", "--encoding=UTF8",
    )  # fmt: skip
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(
            f"listen_addresses = '127.0.0.1,::1'\nport = {port}\nunix_socket_directories = '{root}'\n"
            f"ssl = on\nssl_cert_file = '{keys / 'server.pem'}'\nssl_key_file = '{keys / 'server.key'}'\n"
            "fsync = off\n"
        )
    # TLS only, as rds.force_ssl=1 and Supabase's enforced SSL: no plain host line at all.
    (data / "pg_hba.conf").write_text(
        "local all all trust\n"
        "hostssl all all 127.0.0.1/32 scram-sha-256\n"
        "hostssl all all ::1/128 scram-sha-256\n"
    )
    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"), "-w", "-t", "30", "start")
    try:
        psql = [str(bin_dir / "psql"), "-h", str(root), "-p", str(port), "-U", "postgres", "-d", "postgres"]
        # As RDS's master user: no superuser (RDS keeps that for rdsadmin), CREATEROLE and
        # CREATEDB, owner of platform:database.databaseName, which RDS creates for it.
        master = f"CREATE ROLE app_admin LOGIN CREATEROLE CREATEDB PASSWORD '{MASTER_PASSWORD}'"
        run(*psql, "-v", "ON_ERROR_STOP=1", "-c", master, "-c", "CREATE DATABASE app OWNER app_admin")
        yield Server(port=port, workdir=workdir, ca=keys / "ca.pem", other_ca=keys / "other-ca.pem")
    finally:
        subprocess.run(
            [*as_server, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


# -- the stacks' URLs, pointed at the local server ----------------------------------------


def _plain(value: object) -> str:
    return str(value.value if isinstance(value, Secret) else value)


def _parameter(stack: str, name: str) -> str:
    for parameter in committed_run(stack).of_type(PARAMETER):
        if parameter["name"] == f"/platform/{stack}/{name}":
            return _plain(parameter.inputs["value"])
    raise AssertionError(f"{stack} has no parameter {name}")


def _local(url: str, server: Server, *, host: str = SERVER_NAME, password: str | None = None) -> str:
    """``url`` with the local server's host and port (and password), everything else as emitted."""
    parts = urlsplit(url)
    secret = quote(password, safe="") if password is not None else parts.password
    return urlunsplit(parts._replace(netloc=f"{parts.username}:{secret}@{host}:{server.port}"))


def _client_dir(server: Server, name: str, files: dict[str, Path | None]) -> Path:
    """A working directory whose ``certs/`` holds the given CA files (None: no such file)."""
    directory = server.workdir / name
    (directory / "certs").mkdir(parents=True, exist_ok=True)
    for file, source in files.items():
        if source is not None:
            shutil.copyfile(source, directory / file)
    return directory


def _probe(url: str, cwd: Path, statements: list[str] = ()) -> dict:
    result = subprocess.run(
        ["node", str(PROBE), json.dumps(list(statements))],
        cwd=cwd,
        env={**_base_env(), "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _base_env() -> dict[str, str]:
    # Nothing from the caller's environment that node-postgres reads (PGSSLMODE, PGHOST, ...).
    return {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}


def _bootstrap(
    server: Server, stack: str, cwd: Path, *, verifier: str | None = None
) -> subprocess.CompletedProcess:
    """The admin task's container as its task definition says: node -e BOOTSTRAP_SCRIPT."""
    run = committed_run(stack)
    (container,) = json.loads(run.one(TASK_DEFINITION, "database-admin")["containerDefinitions"])
    assert container["entryPoint"] == ["node"] and container["command"] == ["-e", BOOTSTRAP_SCRIPT]
    environment = {e["name"]: e["value"] for e in container["environment"]}
    secrets = {s["name"]: s["valueFrom"] for s in container["secrets"]}
    by_arn = {p.outputs["arn"]: _plain(p.inputs["value"]) for p in run.of_type(PARAMETER)}
    values = {name: by_arn[arn] for name, arn in secrets.items()}
    values["DATABASE_URL"] = _local(values["DATABASE_URL"], server, password=MASTER_PASSWORD)
    if verifier is not None:
        values["APP_DB_PASSWORD_VERIFIER"] = verifier
    return subprocess.run(
        ["node", *container["command"]],
        cwd=cwd,
        # In the image node_modules sits in the working directory; here it is tests/node's.
        env={**_base_env(), **environment, **values, "NODE_PATH": str(NODE_DIR / "node_modules")},
        capture_output=True,
        text=True,
        timeout=60,
    )


AWS_STACKS = ["staging", "prod-commercial"]


@pytest.fixture(scope="module")
def rds_client(server: Server) -> Path:
    return _client_dir(server, "rds", {"certs/rds-global-bundle.pem": server.ca})


@pytest.fixture(scope="module")
def bootstrapped(server: Server, rds_client: Path) -> Server:
    """The schema a migration left before the bootstrap, then the bootstrap of each AWS stack."""
    master = _local(_parameter("staging", "DATABASE_MASTER_URL"), server, password=MASTER_PASSWORD)
    before = _probe(master, rds_client, ["CREATE TABLE widgets_before (id serial PRIMARY KEY, name text)"])
    assert before["connected"] and before["results"] == [{"ok": True}], before
    for stack in AWS_STACKS:
        result = _bootstrap(server, stack, rds_client)
        assert result.returncode == 0, result.stderr
    after = _probe(master, rds_client, ["CREATE TABLE widgets_after (id serial PRIMARY KEY, name text)"])
    assert after["results"] == [{"ok": True}], after
    return server


# -- TLS: verified, and refused ----------------------------------------------------------


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_the_master_url_connects_verified_with_the_ca_file_it_names(
    server: Server, rds_client: Path, stack: str
):
    url = _local(_parameter(stack, "DATABASE_MASTER_URL"), server, password=MASTER_PASSWORD)
    assert "sslmode=verify-full" in url
    result = _probe(url, rds_client)
    assert result["connected"], result
    assert result["user"] == "app_admin" and result["ssl"] is True


def test_a_ca_that_did_not_sign_the_server_is_refused(server: Server):
    url = _local(_parameter("staging", "DATABASE_MASTER_URL"), server, password=MASTER_PASSWORD)
    wrong = _client_dir(server, "wrong-ca", {"certs/rds-global-bundle.pem": server.other_ca})
    result = _probe(url, wrong)
    assert not result["connected"]
    assert result["code"] == "SELF_SIGNED_CERT_IN_CHAIN", result


def test_a_missing_ca_file_is_refused_before_connecting(server: Server):
    url = _local(_parameter("staging", "DATABASE_MASTER_URL"), server, password=MASTER_PASSWORD)
    result = _probe(url, _client_dir(server, "no-ca", {}))
    assert not result["connected"]
    assert result["code"] == "ENOENT" and "certs/rds-global-bundle.pem" in result["message"], result


def test_the_old_sslmode_require_url_is_refused_as_node_postgres_verifies_it(
    server: Server, rds_client: Path
):
    # brianc/node-postgres#3473: without uselibpqcompat, require verifies like verify-full, and
    # with no CA named Node's own store decides: the error the API reported.
    master = urlsplit(_local(_parameter("staging", "DATABASE_MASTER_URL"), server, password=MASTER_PASSWORD))
    result = _probe(urlunsplit(master._replace(query="sslmode=require")), rds_client)
    assert not result["connected"]
    assert result["code"] == "SELF_SIGNED_CERT_IN_CHAIN", result


def test_verify_full_checks_the_host_name(server: Server, rds_client: Path):
    url = _local(
        _parameter("staging", "DATABASE_MASTER_URL"), server, host="127.0.0.1", password=MASTER_PASSWORD
    )
    result = _probe(url, rds_client)
    assert not result["connected"]
    assert result["code"] == "ERR_TLS_CERT_ALTNAME_INVALID", result


def test_psql_reads_the_same_url(server: Server, rds_client: Path):
    # libpq resolves sslrootcert against the working directory too, so operators' psql works.
    bin_dir = _postgres_bin()
    url = _local(_parameter("staging", "DATABASE_MASTER_URL"), server, password=MASTER_PASSWORD)
    result = subprocess.run(
        [str(bin_dir / "psql"), url, "-Atc", "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"],
        cwd=rds_client,
        env=_base_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "t"


def test_the_supabase_pooler_url_connects_verified(server: Server):
    env = {e["key"]: _plain(e["value"]) for e in committed_run("prod-precommercial").one(
        "render:services:WebService"
    )["envVars"]}  # fmt: skip
    url = _local(env["DATABASE_URL"], server, password=SUPABASE_PASSWORD)
    user = urlsplit(url).username
    admin = _local(_parameter("staging", "DATABASE_MASTER_URL"), server, password=MASTER_PASSWORD)
    rds = _client_dir(server, "rds", {"certs/rds-global-bundle.pem": server.ca})
    # Supavisor's tenant user (postgres.<ref>) stands in as a local role of that name.
    created = _probe(admin, rds, [f"""CREATE ROLE "{user}" LOGIN PASSWORD '{SUPABASE_PASSWORD}'"""])
    assert created["results"] == [{"ok": True}], created
    supabase = _client_dir(server, "supabase", {"certs/supabase-prod-ca-2021.crt": server.ca})
    result = _probe(url, supabase)
    assert result["connected"], result
    assert result["user"] == user and result["ssl"] is True
    # The RDS file is not the Supabase one: each URL names its own CA file.
    assert not _probe(url, rds)["connected"]


# -- the API's role ------------------------------------------------------------------------

DML = [
    "INSERT INTO widgets_before (name) VALUES ('a')",
    "UPDATE widgets_before SET name = 'b'",
    "SELECT * FROM widgets_before",
    "DELETE FROM widgets_before",
    "INSERT INTO widgets_after (name) VALUES ('a')",
    "UPDATE widgets_after SET name = 'b'",
    "SELECT * FROM widgets_after",
    "DELETE FROM widgets_after",
]
# Each must be refused with insufficient_privilege (42501), PostgreSQL's code for a missing
# privilege or ownership (https://www.postgresql.org/docs/current/errcodes-appendix.html).
NOT_ALLOWED = [
    "CREATE TABLE sneaky (id int)",
    "ALTER TABLE widgets_after ADD COLUMN extra text",
    "DROP TABLE widgets_after",
    "TRUNCATE widgets_after",
    "CREATE SCHEMA sneaky",
    "CREATE ROLE sneaky",
    "CREATE DATABASE sneaky",
    "ALTER ROLE app_api CREATEROLE",
    "GRANT app_admin TO app_api",
]


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_the_api_role_logs_in_with_the_programs_password_and_may_only_read_and_write_rows(
    bootstrapped: Server, rds_client: Path, stack: str
):
    # The password is the generated one as the harness emits it: the server accepts it only if
    # the SCRAM verifier the program computed (and the bootstrap set) matches it.
    # Each stack has its own database; here they share one, so the stack's bootstrap runs last.
    assert _bootstrap(bootstrapped, stack, rds_client).returncode == 0
    url = _local(_parameter(stack, "DATABASE_URL"), bootstrapped)
    result = _probe(url, rds_client, DML + NOT_ALLOWED)
    assert result["connected"], result
    assert result["user"] == "app_api" and result["ssl"] is True
    allowed, refused = result["results"][: len(DML)], result["results"][len(DML) :]
    assert allowed == [{"ok": True}] * len(DML), allowed
    for statement, outcome in zip(NOT_ALLOWED, refused, strict=True):
        assert outcome.get("code") == "42501", (statement, outcome)


def test_the_bootstrap_is_idempotent(bootstrapped: Server, rds_client: Path):
    again = _bootstrap(bootstrapped, "staging", rds_client)
    assert again.returncode == 0, again.stderr
    assert "role app_api: login with DML" in again.stdout


def test_the_bootstrap_refuses_a_password_instead_of_a_verifier(bootstrapped: Server, rds_client: Path):
    result = _bootstrap(bootstrapped, "staging", rds_client, verifier="plain-password")
    assert result.returncode == 2
    assert "not a SCRAM-SHA-256 verifier" in result.stderr
