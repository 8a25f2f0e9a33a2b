"""``platform:cutover``: moving the pre-commercial public names (the API's, the web's) to the
commercial stack.

Its own module because it spans the topologies: an AWS stack's section that holds the
pre-commercial databases' URLs, with a phase vocabulary that components/cutover.py and the checks
(``checks.cutover_transition_problems``) share.
"""

from __future__ import annotations

import urllib.parse
from typing import Literal

from pydantic import Field

from components.settings.fields import DomainName, MongodbSrvUri, PostgresUrl, Section

# The cut-over's phases, in the only order a stack may take them (docs/migration.md).
CUTOVER_PHASES: tuple[str, ...] = ("off", "canary", "data-switched", "done")
CutoverPhase = Literal["off", "canary", "data-switched", "done"]
# Public names the cut-over moves, by service: ``api.<domain>`` from Render, ``www.<domain>`` from
# Vercel (docs/migration.md). Every one moves in the same phase, each with its own weight.
CUTOVER_HOSTS: tuple[str, ...] = ("api", "web")


class CutoverHost(Section):
    """``platform:cutover.hosts.<host>``: one public name during the canary."""

    legacy_host: DomainName
    """Where the pre-commercial service is reached by name: the API's Render host
    (``platform-api.onrender.com``), the web's CNAME target that Vercel shows for
    ``www.<domain>`` (``vercel domains inspect www.<domain>``; Vercel's docs give
    ``cname.vercel-dns-0.com``, older projects ``cname.vercel-dns.com``)."""
    aws_weight: int = Field(0, ge=0, le=100)
    """Percent of DNS answers that point at CloudFront (0: none yet, 100: all)."""
    health_check_host: DomainName | None = None
    """The name Route 53's health check of the legacy side connects to and sends as Host and SNI;
    unset: ``legacyHost``. Required when ``legacyHost`` is a Vercel CNAME target: every Vercel
    project shares those, so a probe naming one reaches no project. Use a name Vercel serves the
    production deployment at without authentication, e.g. ``<projectName>.vercel.app``."""


class CutoverSettings(Section):
    """``platform:cutover``: moving ``api.<domain>`` (from Render) and ``www.<domain>`` (from
    Vercel) to AWS gradually.

    The names are always served by Route 53 records this stack owns, and ``phase``, one for every
    name, says which: ``off`` (one weighted CNAME per name to CloudFront, the API on this stack's
    databases), ``canary`` (weighted CNAMEs split each name between CloudFront and its
    pre-commercial host, each name by its own ``awsWeight``; the API on the pre-commercial
    databases), ``data-switched`` (CloudFront alone again, the API on this stack's databases after
    the copy), ``done`` (free alias A/AAAA records to CloudFront). Phases only move forward, one at
    a time (``off`` may go straight to ``done``); see docs/migration.md.
    """

    phase: CutoverPhase = "off"
    """``off``, ``canary``, ``data-switched`` or ``done``, for every name at once. Each ``pulumi up``
    compares it with the phase the stack's Route 53 zone records (a ``_cutover.<host>`` TXT record
    per name) and refuses a skip or a step back (see ``rollbackFrom``)."""
    hosts: dict[str, CutoverHost] = Field(default_factory=dict)
    """``canary`` only, required for ``api`` and ``web``: per public name, ``legacyHost`` (the
    pre-commercial host: ``platform-api.onrender.com``, Vercel's CNAME target), ``awsWeight``
    (percent of DNS answers that get CloudFront, 0-100, default 0; each name steps on its own)
    and ``healthCheckHost`` (the name the legacy health check probes; required for Vercel)."""
    ttl_seconds: int = Field(60, ge=30, le=3600)
    """TTL of the weighted CNAMEs: short, so a step (or a step back) takes effect quickly. Alias
    records (phase ``done``) have none."""
    legacy_database_url: PostgresUrl | None = None
    """``canary`` only, required: the pre-commercial PostgreSQL URL (Supabase's session pooler,
    with ``sslmode=require``). A secret: ``pulumi config set --path --secret
    platform:cutover.legacyDatabaseUrl ...``."""
    legacy_mongodb_uri: MongodbSrvUri | None = None
    """``canary`` only, required while ``platform:atlas.enabled``: the pre-commercial Atlas M0
    ``mongodb+srv://`` URI. A secret: ``pulumi config set --path --secret
    platform:cutover.legacyMongodbUri ...``."""
    legacy_database_port: int = Field(5432, ge=1, le=65535)
    """``canary`` only: port of ``legacyDatabaseUrl`` the API tasks may reach on the internet
    (Supabase's pooler: 5432 session mode, as the pre-commercial API uses; 6543 transaction mode)."""
    rollback_from: CutoverPhase | None = None
    """Acknowledges one step back: set it to the phase the stack is in (as its zone records it)
    to move ``phase`` to an earlier one. Stepping back from ``data-switched`` leaves the writes
    made since the switch behind in this stack's databases; from ``canary`` to ``off``, CloudFront
    takes every lookup on this stack's own (empty) databases. Remove it after that ``pulumi up``."""

    @property
    def legacy_data(self) -> bool:
        """Whether the API on AWS uses the pre-commercial databases (the canary's overlap)."""
        return self.phase == "canary"

    @property
    def canary_keys_set(self) -> list[str]:
        """The keys only phase ``canary`` uses that the stack file sets, as written there."""
        present = {
            "hosts": bool(self.hosts),
            "legacyDatabaseUrl": self.legacy_database_url is not None,
            "legacyMongodbUri": self.legacy_mongodb_uri is not None,
            "legacyDatabasePort": "legacy_database_port" in self.model_fields_set,
        }
        return [key for key, set_ in present.items() if set_]

    @property
    def legacy_database_url_port(self) -> int | None:
        """The port ``legacyDatabaseUrl`` connects to (libpq's default 5432), if it is set."""
        url = self.legacy_database_url
        return None if url is None else urllib.parse.urlsplit(url.get_secret_value()).port or 5432


# Steps forward a stack may take in one `pulumi up` (docs/migration.md). Any other step forward
# would leave records Route 53 refuses beside each other, or skip the canary's shared data.
CUTOVER_STEPS: frozenset[tuple[str, str]] = frozenset(
    {("off", "canary"), ("canary", "data-switched"), ("data-switched", "done"), ("off", "done")}
)
