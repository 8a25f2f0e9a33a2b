"""Supabase PostgreSQL for the pre-commercial topology: a Pulumi dynamic provider and its component.

No maintained Pulumi provider exposes Supabase projects, so :class:`SupabaseProjectProvider`
drives the Supabase Management API (``https://api.supabase.com/v1``) directly with the
standard library. The provider runs inside the Pulumi engine's dynamic-provider process:

* The access token is read from ``SUPABASE_ACCESS_TOKEN`` in that process's environment at
  operation time, so it never reaches the state file or the serialized provider.
  ``SUPABASE_API_URL`` overrides the API's base URL (tests point it at a local fake).
* Requests are retried with bounded exponential backoff on 429 (honouring ``Retry-After``), and
  on 5xx and connection errors for idempotent requests; a project is never created twice by a
  retry because POST is retried only on 429, which the API answers before doing anything.
* The project is never lost: once created it is returned to the engine only when it is healthy;
  if provisioning outlasts the wait, ``create`` fails with a clear message and the next
  ``pulumi up`` adopts the project it already created and resumes waiting instead of creating
  another. ``delete`` is the only operation that deletes, and the component protects the project
  by default so ``pulumi destroy`` refuses to reach it.
* Adoption is narrow because the password cannot be checked: the Management API never returns a
  project's database password, and the connection string is built from the password input (the
  stack's RandomPassword, stored in state before the project's create starts). A project left by
  this stack's interrupted create was made with exactly that password; any other same-named
  project was not, and adopting it would hand the API a connection string that cannot log in (and
  put someone else's project under this stack). So ``create`` adopts only the one project of that
  name in the same organisation **and** region created within ``adopt_window_seconds`` (default
  24 h: the time to the next ``pulumi up``); anything else fails, saying what to do. A project made
  outside that window is brought in with ``pulumi import`` (``read`` fills region and organisation
  from the API) and its password reset to the stack's in the dashboard.
* The provider is serialized into the state with dill **by reference** (pulumi
  sdk/python/lib/pulumi/dynamic/dynamic.py, ``serialize_provider``: ``dill.dumps(provider,
  recurse=True)`` of an instance whose class lives in an importable module pickles the module path
  ``components.platforms.supabase`` and class name, not the code), and the engine's provider
  process imports that path again to run it (dynamic/__main__.py, ``get_provider``). So the code
  that runs is always this file as checked out, but **renaming or moving this module or the class
  breaks every stack whose state holds the old path**: ``read`` (refresh) and ``delete`` unpickle
  the provider stored in the state, not the program's. To rename: keep a re-export at the old path,
  run ``pulumi up`` once (every update stores the new path), then remove the old module.
* Every request names itself with a ``User-Agent``; ``Retry-After`` is read case-insensitively
  (HTTP header names are case-insensitive, RFC 9110 section 5.1). The HTTP client is the one the
  Render scaling provider shares (components/platforms/rest.py); the provider holds no client, so
  moving that code changes nothing a state stores.
"""

from __future__ import annotations

import contextlib
import os
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pulumi
import pulumi_random as random
from pulumi import dynamic

from components.outputs import publish
from components.platforms.rest import ApiError, RestClient, body_message
from components.postgres_tls import SUPABASE_CA_CERT, tls_query, with_verified_tls
from components.settings import SupabaseSettings

DEFAULT_API_URL = "https://api.supabase.com"
USER_AGENT = "platform-pulumi-supabase-provider/1 (+components/platforms/supabase.py)"
TOKEN_ENV = "SUPABASE_ACCESS_TOKEN"
API_URL_ENV = "SUPABASE_API_URL"

HEALTHY = "ACTIVE_HEALTHY"
# Statuses from which a project never becomes healthy without someone acting on it.
FAILED = frozenset({"INIT_FAILED", "REMOVED", "RESTORE_FAILED", "PAUSE_FAILED"})
GONE = frozenset({"REMOVED"})

# Supavisor serves both pool modes on the pooler host: session mode on 5432 (one server
# connection per client for its whole connection, prepared statements work, but only pool-size
# clients fit) and transaction mode on 6543 (a server connection per transaction: many more
# clients, no named prepared statements). settings.SUPABASE_POOLER_LIMITS has the limits.
POOL_MODE_PORTS = {"session": 5432, "transaction": 6543}

SECRET_OUTPUTS = ["db_pass", "pooled_connection_string", "session_connection_string"]


class SupabaseApiError(ApiError):
    """A Supabase Management API call failed; the message says what to do about it."""


class SupabaseNotFoundError(SupabaseApiError):
    """The API answered 404 for the requested object."""


class SupabaseClient(RestClient):
    """The Management API through the shared client (components/platforms/rest.py)."""

    vendor = "Supabase"
    credential = "access token"
    refused_hint = f"Set {TOKEN_ENV} to a valid personal access token with access to the organisation."
    user_agent = USER_AGENT
    error = SupabaseApiError
    not_found = SupabaseNotFoundError


def pooler_user(pooler: Mapping[str, Any], ref: str) -> str:
    """The user name Supavisor's shared pooler accepts: ``<db_user>.<project ref>``.

    The pooler serves every project on one host and finds the tenant by that suffix ("Tenant or
    user not found" without it). The API's ``db_user`` may be the bare role (``postgres``) while
    its ``connection_string`` shows the qualified one, so the suffix is added when missing.
    """
    user = str(pooler["db_user"])
    return user if user.endswith(f".{ref}") else f"{user}.{ref}"


def pooled_connection_string(pooler: Mapping[str, Any], ref: str, password: str, pool_mode: str) -> str:
    """A libpq URL to the project's Supavisor pooler, verifying its certificate against Supabase's root.

    Supabase documents the pooler with ``sslmode=verify-full`` and ``sslrootcert`` naming the
    downloaded "Server root certificate" (supabase.com/docs/guides/database/psql).
    """
    user = urllib.parse.quote(pooler_user(pooler, ref), safe="")
    secret = urllib.parse.quote(password, safe="")
    database = urllib.parse.quote(str(pooler.get("db_name") or "postgres"), safe="")
    port = POOL_MODE_PORTS[pool_mode]
    return f"postgresql://{user}:{secret}@{pooler['db_host']}:{port}/{database}?{tls_query(SUPABASE_CA_CERT)}"


def _utc_now() -> datetime:
    # A module-level function, so the serialized provider refers to it by name (a lambda would be
    # pickled by value).
    return datetime.now(UTC)


def _created_at(project: Mapping[str, Any]) -> datetime | None:
    try:
        created = datetime.fromisoformat(str(project.get("created_at")))
    except ValueError:
        return None
    return created if created.tzinfo else created.replace(tzinfo=UTC)


class SupabaseProjectProvider(dynamic.ResourceProvider):
    """CRUD of one Supabase project through the Management API.

    Inputs: ``name``, ``organization`` (slug), ``region``, ``plan`` (the organisation's expected
    plan, checked before creating), ``pool_mode`` and ``db_pass`` (secret). Outputs add ``ref``,
    ``organization_id``, ``status``, ``db_host``, ``pooler_host``, ``pooler_port``, ``pooler_user``,
    ``database``, ``pooled_connection_string`` (``pool_mode``'s port) and
    ``session_connection_string`` (5432, for ``pg_dump``); both URLs are secrets.

    The keyword arguments bound retries, waiting and adoption; ``sleep`` and ``now`` are
    injectable so tests run fast.
    """

    serialize_as_secret_always = False

    def __init__(
        self,
        *,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = 5,
        max_backoff_seconds: float = 30.0,
        provision_timeout_seconds: float = 900.0,
        poll_interval_seconds: float = 10.0,
        request_timeout_seconds: float = 30.0,
        adopt_window_seconds: float = 24 * 3600.0,
        now: Callable[[], datetime] = _utc_now,
    ):
        super().__init__()
        self.sleep = sleep
        self.max_attempts = max_attempts
        self.max_backoff_seconds = max_backoff_seconds
        self.provision_timeout_seconds = provision_timeout_seconds
        self.poll_interval_seconds = poll_interval_seconds
        self.request_timeout_seconds = request_timeout_seconds
        self.adopt_window_seconds = adopt_window_seconds
        self.now = now

    # -- engine operations ---------------------------------------------------------------

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        client = self._client()
        project = self._adoptable_project(client, props)
        if project is None:
            self._check_plan(client, props["organization"], props.get("plan", "free"))
            project = client.request(
                "POST",
                "/v1/projects",
                {
                    "name": props["name"],
                    "organization_slug": props["organization"],
                    "db_pass": props["db_pass"],
                    "region_selection": {"type": "specific", "code": props["region"]},
                },
            )
        ref = _ref(project)
        project, pooler = self._wait_until_ready(client, ref)
        return dynamic.CreateResult(ref, self._outputs(props, project, pooler))

    def read(self, id_: str, props: dict[str, Any]) -> dynamic.ReadResult:
        client = self._client()
        try:
            project = client.request("GET", f"/v1/projects/{id_}")
        except SupabaseNotFoundError:
            return dynamic.ReadResult("", {})
        if project.get("status") in GONE:
            return dynamic.ReadResult("", {})
        pooler = self._pooler(client, id_) if project.get("status") == HEALTHY else None
        # An import starts from the id alone: what the project is (organisation, region) comes
        # from the API, so the first diff compares the program with the real project.
        imported = {
            "organization": props.get("organization") or _organization(project),
            "region": props.get("region") or project.get("region"),
        }
        return dynamic.ReadResult(id_, self._outputs({**props, **imported}, project, pooler))

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        # Region and organisation cannot change in place; the project's data would be lost by a
        # replacement, which the component's protect refuses. The password is set at creation
        # only (rotate it in the dashboard); the plan belongs to the organisation.
        # The organisation may be recorded as its slug or (after an import) as its id.
        same_org = news.get("organization") in (olds.get("organization"), olds.get("organization_id"))
        replaces = [
            key
            for key, same in (
                ("region", olds.get("region") == news.get("region")),
                ("organization", same_org),
            )
            if key in olds and not same
        ]
        changed = replaces or [key for key in ("name", "pool_mode") if olds.get(key) != news.get(key)]
        return dynamic.DiffResult(
            changes=bool(changed), replaces=replaces, delete_before_replace=bool(replaces)
        )

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        client = self._client()
        if olds.get("name") != news["name"]:
            client.request("PATCH", f"/v1/projects/{id_}", {"name": news["name"]})
        project = client.request("GET", f"/v1/projects/{id_}")
        pooler = self._pooler(client, id_) if project.get("status") == HEALTHY else None
        # The password never changes through Pulumi: the connection string keeps the one in use.
        props = {**news, "db_pass": olds.get("db_pass", news.get("db_pass"))}
        return dynamic.UpdateResult(self._outputs(props, project, pooler, previous=olds))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        # Already gone (404) is the goal of a delete reached.
        with contextlib.suppress(SupabaseNotFoundError):
            self._client().request("DELETE", f"/v1/projects/{id_}")

    # -- helpers -------------------------------------------------------------------------

    def _client(self) -> SupabaseClient:
        token = os.environ.get(TOKEN_ENV, "").strip()
        if not token:
            raise SupabaseApiError(
                f"{TOKEN_ENV} is not set: export a Supabase personal access token "
                "(https://supabase.com/dashboard/account/tokens) before running pulumi"
            )
        return SupabaseClient(
            token,
            os.environ.get(API_URL_ENV, DEFAULT_API_URL),
            sleep=self.sleep,
            max_attempts=self.max_attempts,
            max_backoff_seconds=self.max_backoff_seconds,
            request_timeout_seconds=self.request_timeout_seconds,
        )

    def _adoptable_project(self, client: SupabaseClient, props: Mapping[str, Any]) -> dict[str, Any] | None:
        """The project this stack's interrupted ``create`` left behind, to adopt instead of
        duplicating; None when there is none; an error for a same-named project that is not one."""
        organization, name, region = props["organization"], props["name"], props["region"]
        projects = client.request("GET", "/v1/projects") or []
        matches = [
            p
            for p in projects
            if p.get("name") == name
            and organization in (p.get("organization_slug"), p.get("organization_id"))
        ]
        if not matches:
            return None
        if len(matches) > 1:
            refs = ", ".join(_ref(p) for p in matches)
            raise SupabaseApiError(
                f"organisation {organization} has {len(matches)} projects named {name!r} ({refs}); "
                "delete the extra ones or rename this project before running pulumi up again"
            )
        [project] = matches
        ref = _ref(project)
        if project.get("region") != region:
            raise SupabaseApiError(
                f"organisation {organization} already has a project named {name!r} ({ref}) in "
                f"{project.get('region')}, but this stack creates it in {region}: it is not one this "
                "stack left behind. Set another platform:supabase.projectName, or delete that project"
            )
        if project.get("status") in FAILED:
            raise SupabaseApiError(
                f"project {ref} ({name!r}) is {project['status']}: it will not become "
                "healthy. Delete it in the Supabase dashboard, then run pulumi up again"
            )
        created = _created_at(project)
        age = (self.now() - created).total_seconds() if created else None
        if age is None or age > self.adopt_window_seconds:
            raise SupabaseApiError(
                f"organisation {organization} already has a project named {name!r} ({ref}, created "
                f"{project.get('created_at')}), older than an interrupted create of this stack can be "
                f"({self.adopt_window_seconds / 3600:.0f} h), so its password is not this stack's. "
                "Set another platform:supabase.projectName, or `pulumi import` it and reset its "
                "database password to the stack's"
            )
        return project

    @staticmethod
    def _check_plan(client: SupabaseClient, organization: str, plan: str) -> None:
        try:
            org = client.request("GET", f"/v1/organizations/{organization}")
        except SupabaseNotFoundError:
            raise SupabaseApiError(
                f"Supabase organisation {organization!r} does not exist or the token cannot see it; "
                "check platform:supabase.organizationId (the organisation's slug)",
                404,
            ) from None
        actual = str(org.get("plan", "")).lower()
        if actual and actual != plan:
            raise SupabaseApiError(
                f"organisation {organization!r} is on Supabase's {actual!r} plan but platform:supabase.plan "
                f"is {plan!r}; the plan is set per organisation, so change one of them before creating"
            )

    def _wait_until_ready(self, client: SupabaseClient, ref: str) -> tuple[dict[str, Any], dict[str, Any]]:
        polls = max(1, int(self.provision_timeout_seconds // max(self.poll_interval_seconds, 1e-9)))
        status = "UNKNOWN"
        for poll in range(polls):
            if poll:
                self.sleep(self.poll_interval_seconds)
            project = client.request("GET", f"/v1/projects/{ref}")
            status = project.get("status", "UNKNOWN")
            if status in FAILED:
                raise SupabaseApiError(
                    f"project {ref} failed to provision ({status}). It is kept: delete it in the "
                    "Supabase dashboard, then run pulumi up again"
                )
            if status == HEALTHY:
                pooler = self._pooler(client, ref)
                if pooler is not None:
                    return project, pooler
        raise SupabaseApiError(
            f"project {ref} is still {status} after {self.provision_timeout_seconds:.0f} s. It is kept: "
            "run pulumi up again to resume waiting (the same project is adopted, not created twice)"
        )

    @staticmethod
    def _pooler(client: SupabaseClient, ref: str) -> dict[str, Any] | None:
        try:
            entries = client.request("GET", f"/v1/projects/{ref}/config/database/pooler")
        except SupabaseNotFoundError:
            return None
        entries = entries if isinstance(entries, list) else [entries] if entries else []
        primary = [e for e in entries if str(e.get("database_type", "PRIMARY")).upper() == "PRIMARY"]
        return primary[0] if primary and primary[0].get("db_host") else None

    @staticmethod
    def _outputs(
        props: Mapping[str, Any],
        project: Mapping[str, Any],
        pooler: Mapping[str, Any] | None,
        previous: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        previous = previous or props
        ref = _ref(project)
        outputs = {
            "name": project.get("name", props.get("name")),
            # As declared, not as answered: the API's spelling of these (slug or id, region code or
            # name) must never be able to trigger a replacement by itself.
            "organization": props.get("organization"),
            "organization_id": project.get("organization_id", previous.get("organization_id")),
            "region": props.get("region"),
            "plan": props.get("plan"),
            "pool_mode": props.get("pool_mode", "session"),
            "db_pass": props.get("db_pass"),
            "ref": ref,
            "status": project.get("status"),
            "db_host": (project.get("database") or {}).get("host") or f"db.{ref}.supabase.co",
        }
        if pooler is None:
            # Paused (INACTIVE) or restoring: keep what was known rather than blanking the URL.
            for key in (
                "pooler_host",
                "pooler_port",
                "pooler_user",
                "database",
                "pooled_connection_string",
                "session_connection_string",
            ):
                outputs[key] = previous.get(key)
            return outputs
        outputs.update(
            pooler_host=pooler["db_host"],
            pooler_port=POOL_MODE_PORTS[outputs["pool_mode"]],
            pooler_user=pooler_user(pooler, ref),
            database=pooler.get("db_name") or "postgres",
            pooled_connection_string=pooled_connection_string(
                pooler, ref, str(props.get("db_pass")), outputs["pool_mode"]
            ),
            session_connection_string=pooled_connection_string(
                pooler, ref, str(props.get("db_pass")), "session"
            ),
        )
        return outputs


def _organization(project: Mapping[str, Any]) -> str | None:
    slug = project.get("organization_slug") or project.get("organization_id")
    return str(slug) if slug else None


def _ref(project: Mapping[str, Any]) -> str:
    ref = project.get("ref") or project.get("id")
    if not ref:
        raise SupabaseApiError(f"the API answered without a project ref: {body_message(project)}")
    return str(ref)


class _SupabaseProjectResource(dynamic.Resource, module="supabase", name="Project"):
    """The dynamic resource; use :class:`SupabaseProject`, which also generates the password."""

    ref: pulumi.Output[str]
    status: pulumi.Output[str]
    db_host: pulumi.Output[str]
    pooler_host: pulumi.Output[str]
    pooler_port: pulumi.Output[int]
    pooler_user: pulumi.Output[str]
    database: pulumi.Output[str]
    pooled_connection_string: pulumi.Output[str]
    session_connection_string: pulumi.Output[str]

    def __init__(self, name: str, props: Mapping[str, Any], opts: pulumi.ResourceOptions):
        outputs = dict.fromkeys(
            (
                "ref",
                "status",
                "db_host",
                "pooler_host",
                "pooler_port",
                "pooler_user",
                "database",
                "pooled_connection_string",
                "session_connection_string",
            )
        )
        super().__init__(SupabaseProjectProvider(), name, {**props, **outputs}, opts)


@dataclass(frozen=True)
class SupabaseProjectArgs:
    settings: SupabaseSettings
    """Organisation, project name, region, expected plan, whether the project is protected and
    ``poolMode``, the Supavisor mode of ``pooled_connection_string``."""


class SupabaseProject(pulumi.ComponentResource):
    """A Supabase project with a generated database password, protected by default."""

    ref: pulumi.Output[str]
    """The project's reference id (``abcdefghijklmnopqrst``)."""
    status: pulumi.Output[str]
    """The project's status when last read (``ACTIVE_HEALTHY`` after creation)."""
    pooled_connection_string: pulumi.Output[str]
    """Secret ``postgresql://`` URL to the Supavisor pooler in ``settings.pool_mode`` with the
    password embedded and ``sslmode=verify-full&sslrootcert=certs/supabase-prod-ca-2021.crt``
    (components/postgres_tls.py; Supabase's direct host is IPv6-only on the free plan, so
    IPv4-only platforms such as Render must use the pooler)."""
    session_connection_string: pulumi.Output[str]
    """The same on the session port 5432, for ``pg_dump`` (backups)."""
    dashboard_url: pulumi.Output[str]
    """The project's page in the Supabase dashboard."""

    def __init__(self, name: str, args: SupabaseProjectArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:supabase:SupabaseProject", name, None, opts)
        settings = args.settings
        # Losing the password means losing access to the data, so it is protected with the project.
        protected = pulumi.ResourceOptions(parent=self, protect=settings.protect)
        password = random.RandomPassword(
            f"{name}-db-password",
            length=40,
            special=False,  # alphanumeric: safe in URLs and shells; 40 characters keep it strong
            opts=protected,
        )
        project = _SupabaseProjectResource(
            f"{name}-project",
            {
                "name": settings.project_name,
                "organization": settings.organization_id,
                "region": settings.region,
                "plan": settings.plan,
                "pool_mode": settings.pool_mode,
                "db_pass": pulumi.Output.secret(password.result),
            },
            pulumi.ResourceOptions.merge(
                protected, pulumi.ResourceOptions(additional_secret_outputs=SECRET_OUTPUTS)
            ),
        )
        publish(
            self,
            ref=project.ref,
            status=project.status,
            # Normalised here as well: a project created before the URL verified TLS keeps its old
            # string in the state until the provider's next update (diff sees no input change).
            pooled_connection_string=pulumi.Output.secret(
                project.pooled_connection_string.apply(lambda url: with_verified_tls(url, SUPABASE_CA_CERT))
            ),
            session_connection_string=pulumi.Output.secret(project.session_connection_string),
            dashboard_url=project.ref.apply(lambda ref: f"https://supabase.com/dashboard/project/{ref}"),
        )
