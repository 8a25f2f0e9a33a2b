"""A local fake of the Supabase Management API, served over real HTTP on 127.0.0.1.

It keeps projects and organisations in memory and answers the calls the dynamic provider makes.
Failure injection (all counters apply to the next requests, whatever their path):

* ``token``: requests without ``Authorization: Bearer <token>`` get 401.
* ``throttle(n, retry_after, header)``: the next ``n`` requests get 429 with a ``Retry-After``
  header spelt ``header`` (header names are case-insensitive, RFC 9110 section 5.1).
* ``fail(n, status, method)``: the next ``n`` requests (of ``method`` only, when given) get
  ``status`` (500 by default)
* ``provisioning_polls``: a new project answers ``COMING_UP`` to that many GETs before it is
  ``ACTIVE_HEALTHY``; ``final_status`` replaces ``ACTIVE_HEALTHY`` (e.g. ``INIT_FAILED``).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    method: str
    path: str
    body: Any
    authorization: str | None
    user_agent: str | None = None


@dataclass
class FakeSupabase:
    token: str = "sbp_test_token"
    organizations: dict[str, dict[str, Any]] = field(default_factory=lambda: {"acme": {"plan": "free"}})
    provisioning_polls: int = 0
    final_status: str = "ACTIVE_HEALTHY"
    projects: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    _throttles: list[tuple[str, str]] = field(default_factory=list)
    _failures: list[tuple[int, str | None]] = field(default_factory=list)
    _polls_left: dict[str, int] = field(default_factory=dict)
    _passwords: dict[str, str] = field(default_factory=dict)
    _counter: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    # -- control -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeSupabase:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def throttle(self, times: int, retry_after: str = "0", header: str = "Retry-After") -> None:
        self._throttles.extend([(header, retry_after)] * times)

    def fail(self, times: int, status: int = 500, method: str | None = None) -> None:
        self._failures.extend([(status, method)] * times)

    def add_project(
        self,
        name: str,
        organization: str,
        status: str = "ACTIVE_HEALTHY",
        region: str = "ap-northeast-1",
        created_at: str = "2025-01-01T00:00:00Z",
        password: str = "existing-password",
    ) -> str:
        """A project made outside the provider (by hand, or by another stack)."""
        with self._lock:
            ref = self._create(name, organization, region, password, status)
            self.projects[ref]["created_at"] = created_at
            return ref

    def password_of(self, ref: str) -> str:
        return self._passwords[ref]

    def calls(self, method: str, path_prefix: str = "") -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    # -- behaviour -----------------------------------------------------------------------

    def _create(self, name: str, organization: str, region: str, password: str, status: str) -> str:
        self._counter += 1
        ref = f"{self._counter:020d}"[-20:].replace("0", "q")
        self.projects[ref] = {
            "id": ref,
            "ref": ref,
            # The API names the organisation by id and slug; the fake's id differs from the slug
            # so that code relying on one of them shows.
            "organization_id": f"id-{organization}",
            "organization_slug": organization,
            "name": name,
            "region": region,
            "created_at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "status": status,
            "database": {"host": f"db.{ref}.supabase.co", "version": "17.4.1"},
        }
        self._passwords[ref] = password
        self._polls_left[ref] = self.provisioning_polls if status == "COMING_UP" else 0
        return ref

    def _answer(
        self, method: str, path: str, body: Any, authorization: str | None, user_agent: str | None = None
    ) -> tuple[int, Any, dict[str, str]]:
        self.requests.append(Recorded(method, path, body, authorization, user_agent))
        if authorization != f"Bearer {self.token}":
            return 401, {"message": "Unauthorized"}, {}
        if self._throttles:
            header, value = self._throttles.pop(0)
            return 429, {"message": "Too many requests"}, {header: value}
        if self._failures and self._failures[0][1] in (None, method):
            return self._failures.pop(0)[0], {"message": "Internal server error"}, {}
        parts = [p for p in path.split("/") if p]
        if parts[:2] != ["v1", "projects"] and parts[:2] != ["v1", "organizations"]:
            return 404, {"message": "Not found"}, {}
        if parts[1] == "organizations":
            org = self.organizations.get(parts[2]) if len(parts) == 3 else None
            return (
                (200, {"slug": parts[2], "name": parts[2], **org}, {})
                if org
                else (404, {"message": "Not found"}, {})
            )
        if len(parts) == 2 and method == "GET":
            return 200, list(self.projects.values()), {}
        if len(parts) == 2 and method == "POST":
            missing = [
                k for k in ("name", "organization_slug", "db_pass", "region_selection") if not body.get(k)
            ]
            if missing:
                return 400, {"message": f"missing {missing}"}, {}
            if body["organization_slug"] not in self.organizations:
                return 404, {"message": "Organization not found"}, {}
            ref = self._create(
                body["name"],
                body["organization_slug"],
                body["region_selection"]["code"],
                body["db_pass"],
                "COMING_UP",
            )
            return (
                201,
                {
                    k: self.projects[ref][k]
                    for k in ("id", "ref", "organization_id", "name", "region", "status")
                },
                {},
            )
        project = self.projects.get(parts[2])
        if project is None:
            return 404, {"message": "Project not found"}, {}
        ref = parts[2]
        if len(parts) == 3 and method == "GET":
            if project["status"] == "COMING_UP":
                if self._polls_left[ref] > 0:
                    self._polls_left[ref] -= 1
                else:
                    project["status"] = self.final_status
            return 200, dict(project), {}
        if len(parts) == 3 and method == "PATCH":
            project["name"] = body["name"]
            return 200, {"id": ref, "ref": ref, "name": body["name"]}, {}
        if len(parts) == 3 and method == "DELETE":
            del self.projects[ref]
            return 200, {"id": ref, "ref": ref, "name": project["name"]}, {}
        if parts[3:] == ["config", "database", "pooler"] and method == "GET":
            if project["status"] != "ACTIVE_HEALTHY":
                return 404, {"message": "Pooler not ready"}, {}
            return (
                200,
                [
                    {
                        "identifier": ref,
                        "database_type": "PRIMARY",
                        "is_using_scram_auth": True,
                        "db_user": f"postgres.{ref}",
                        "db_host": f"aws-0-{project['region']}.pooler.supabase.com",
                        "db_port": 6543,
                        "db_name": "postgres",
                        "connection_string": f"postgresql://postgres.{ref}:[YOUR-PASSWORD]@aws-0-{project['region']}.pooler.supabase.com:6543/postgres",
                        "default_pool_size": 15,
                        "max_client_conn": 200,
                        "pool_mode": "transaction",
                    }
                ],
                {},
            )
        return 404, {"message": "Not found"}, {}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                with fake._lock:
                    status, payload, headers = fake._answer(
                        self.command,
                        self.path,
                        body,
                        self.headers.get("Authorization"),
                        self.headers.get("User-Agent"),
                    )
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = _serve  # noqa: N815 (http.server's naming)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep pytest output clean

        return Handler
