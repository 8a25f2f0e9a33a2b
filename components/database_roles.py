"""The API's PostgreSQL login role: the SQL that makes it DML-only, and its password verifier."""

from __future__ import annotations

import base64
import hashlib
import hmac

# The API's login role: DML on the application schema, nothing else (bootstrap_sql). The master
# user (rds_superuser) is for the one-off admin task only: role bootstrap and schema migrations.
APP_USERNAME = "app_api"
APP_SCHEMA = "public"
# PostgreSQL's default scram_iterations (src/include/common/scram-common.h, SCRAM_SHA_256_DEFAULT_ITERATIONS).
SCRAM_ITERATIONS = 4096


def scram_sha256_verifier(password: str, salt: bytes, iterations: int = SCRAM_ITERATIONS) -> str:
    """The SCRAM-SHA-256 secret PostgreSQL stores for ``password`` (RFC 5803 form).

    As PostgreSQL builds it (src/common/scram-common.c, scram_build_secret; RFC 7677): the admin
    task sets the role's password to this string, which PostgreSQL stores as it is ("If the
    presented password string is already in ... SCRAM-encrypted format, then it is stored as-is",
    CREATE ROLE), so the password itself never reaches the server, its logs or the admin task.
    ``password`` must be ASCII (SASLprep leaves it unchanged); the generated one is alphanumeric.
    """
    if not password.isascii():
        raise ValueError("the SCRAM verifier is built for ASCII passwords only (no SASLprep here)")
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def bootstrap_sql(database: str, owner: str, app_role: str = APP_USERNAME, schema: str = APP_SCHEMA) -> str:
    """SQL run as the master user that makes ``app_role`` a DML-only login (idempotent).

    The role may connect to ``database``, use ``schema`` and read and write the rows of its
    tables and sequences, those there now and those ``owner`` (the master user, which runs the
    migrations) creates later (default privileges). It owns nothing and may not create tables,
    schemas, roles or databases. Its password is set by the admin task from the SCRAM verifier.

    The master user is no superuser (``rds_superuser`` on RDS and Aurora), and PostgreSQL lets only
    a superuser name the SUPERUSER, REPLICATION or BYPASSRLS attributes in ALTER ROLE, even to
    turn them off (src/backend/commands/user.c, AlterRole); CREATE ROLE leaves them off.
    """
    for value in (database, owner, app_role, schema):
        if not value.replace("_", "").isalnum() or not value.isascii():
            raise ValueError(f"{value!r} is not a plain SQL identifier")
    return f"""\
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '{app_role}') THEN
    CREATE ROLE {app_role} LOGIN;
  END IF;
END
$$;
ALTER ROLE {app_role} WITH LOGIN NOCREATEDB NOCREATEROLE INHERIT;
GRANT CONNECT ON DATABASE {database} TO {app_role};
REVOKE CREATE ON SCHEMA {schema} FROM PUBLIC;
REVOKE CREATE ON SCHEMA {schema} FROM {app_role};
GRANT USAGE ON SCHEMA {schema} TO {app_role};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {app_role};
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO {app_role};
ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema}
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app_role};
ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema}
  GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {app_role};
"""
