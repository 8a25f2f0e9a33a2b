"""The TLS contract of every PostgreSQL URL the stacks hand to the API.

node-postgres (under TypeORM, Knex, Drizzle and Prisma's pg adapter) verifies the server's
certificate chain and host name for every ``sslmode`` except ``disable`` and ``no-verify``:
pg-connection-string 2.x's ``parse`` (index.js) keeps ``rejectUnauthorized`` on for
``prefer``/``require``/``verify-ca``/``verify-full`` unless ``uselibpqcompat=true``
(brianc/node-postgres#3473). Node trusts only its bundled Mozilla roots, and neither Amazon RDS's
CAs nor Supabase's "Supabase Root 2021 CA" are among them, so ``sslmode=require`` alone fails with
"self-signed certificate in certificate chain".

The URLs therefore say what the driver really does, ``sslmode=verify-full``, and name the CA
file with ``sslrootcert``: pg-connection-string reads that file into ``ssl.ca``, libpq (psql)
reads it the same way. The path is relative, so it resolves against the API process's working
directory: the API repository commits the two public CA files under ``certs/`` and starts from
its root (the image's WORKDIR on ECS and Render's docker runtime, the checkout on Render's node
runtime). README "Database TLS contract for the API team" says how to get each file.

A ``ssl`` object passed next to ``connectionString`` does not help: pg's ConnectionParameters
(lib/connection-parameters.js) merges ``parse(connectionString)`` over the config, so the URL's
``ssl`` replaces the app's.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode, urlsplit, urlunsplit

# AWS's global bundle of the RDS and Aurora CAs (every region, every CA generation), as
# https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem serves it.
RDS_CA_BUNDLE = "certs/rds-global-bundle.pem"
# Supabase's root, the "Server root certificate" of the project's database settings (the file
# Supabase serves is named prod-ca-2021.crt); it signs the Supavisor pooler's certificate.
SUPABASE_CA_CERT = "certs/supabase-prod-ca-2021.crt"


def tls_query(ca_file: str) -> str:
    """The query string of a verified connection: the chain to ``ca_file`` and the host name."""
    return urlencode({"sslmode": "verify-full", "sslrootcert": ca_file}, safe="/")


def postgres_url(user: str, password: str, host: str, port: int | str, database: str, ca_file: str) -> str:
    """A ``postgresql://`` URL with the credentials percent-encoded and verified TLS."""
    return (
        f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{port}/"
        f"{quote(database, safe='')}?{tls_query(ca_file)}"
    )


def with_verified_tls(url: str, ca_file: str) -> str:
    """``url`` with its TLS parameters replaced by :func:`tls_query` and every other one kept."""
    parts = urlsplit(url)
    kept = [
        part
        for part in parts.query.split("&")
        if part and part.split("=", 1)[0] not in {"sslmode", "sslrootcert", "uselibpqcompat"}
    ]
    return urlunsplit(parts._replace(query="&".join([*kept, tls_query(ca_file)])))
