"""A local fake of the Supabase Management API, served over real HTTP on 127.0.0.1.

It keeps projects and organisations in memory and answers the calls the dynamic provider makes.
The server, auth and failure injection (``token``, ``throttle``, ``fail``) are tests/fake_api.py's;
besides:

* ``provisioning_polls``: a new project answers ``COMING_UP`` to that many GETs before it is
  ``ACTIVE_HEALTHY``; ``final_status`` replaces ``ACTIVE_HEALTHY`` (e.g. ``INIT_FAILED``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.fake_api import Answer, FakeApi


@dataclass
class FakeSupabase(FakeApi):
    token: str = "sbp_test_token"
    organizations: dict[str, dict[str, Any]] = field(default_factory=lambda: {"acme": {"plan": "free"}})
    provisioning_polls: int = 0
    final_status: str = "ACTIVE_HEALTHY"
    projects: dict[str, dict[str, Any]] = field(default_factory=dict)
    _polls_left: dict[str, int] = field(default_factory=dict)
    _passwords: dict[str, str] = field(default_factory=dict)
    _counter: int = 0

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

    def _route(self, method: str, path: str, body: Any) -> Answer:
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
