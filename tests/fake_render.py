"""A local fake of the Render REST API's scaling endpoints, served over real HTTP on 127.0.0.1.

Shapes from cloudy-sky-software/pulumi-render
``provider/cmd/pulumi-resource-render/openapi_generated.yml`` (Render's spec) and
https://api-docs.render.com:

* GET ``/v1/services/{id}``: the service (``webServiceOutput``); ``serviceDetails.numInstances``
  always, ``serviceDetails.autoscaling`` only once one is configured (it is not required).
* PUT ``/v1/services/{id}/autoscaling``: body and 200 answer are the autoscaling object
  (enabled, min, max, criteria.cpu/memory.{enabled, percentage} required); no ``id``. A body
  missing a required key gets 400.
* DELETE ``/v1/services/{id}/autoscaling``: 204, no body. Whether Render answers 404 or 204 for a
  service without a config is not documented (404 is among the listed answers); the fake answers
  404, the case a caller must tolerate.
* POST ``/v1/services/{id}/scale`` ``{numInstances}``: 202, no body; "Render ignores this value as
  long as autoscaling is enabled for the service", so the fake does too.
* Unknown service: 404 ``{"id": "not_found", "message": ...}``.

Server, auth and failure injection (``token``, ``throttle``, ``fail``): tests/fake_api.py.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from tests.fake_api import Answer, FakeApi

NOT_FOUND = {"id": "not_found", "message": "Unable to find the requested resource."}


@dataclass
class FakeRender(FakeApi):
    token: str = "rnd_test_api_key"
    services: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add_service(self, service_id: str = "srv-d0000000000000000000", num_instances: int = 1) -> str:
        """A web service as POST /v1/services made it: manual scaling, ``numInstances`` 1 by default."""
        with self._lock:
            self.services[service_id] = {
                "id": service_id,
                "name": "platform-api",
                "type": "web_service",
                "serviceDetails": {
                    "env": "node",
                    "runtime": "node",
                    "plan": "starter",
                    "region": "singapore",
                    "numInstances": num_instances,
                    "url": "https://platform-api.onrender.com",
                },
            }
        return service_id

    def details(self, service_id: str) -> dict[str, Any]:
        return self.services[service_id]["serviceDetails"]

    def _route(self, method: str, path: str, body: Any) -> Answer:
        parts = [p for p in path.split("/") if p]
        if parts[:2] != ["v1", "services"] or len(parts) < 3:
            return 404, NOT_FOUND, {}
        service = self.services.get(parts[2])
        if service is None:
            return 404, NOT_FOUND, {}
        details = service["serviceDetails"]
        action = parts[3:]
        if action == [] and method == "GET":
            return 200, copy.deepcopy(service), {}
        if action == ["autoscaling"] and method == "PUT":
            problem = _autoscaling_problem(body)
            if problem:
                return 400, {"id": "bad_request", "message": problem}, {}
            details["autoscaling"] = copy.deepcopy(body)
            return 200, copy.deepcopy(body), {}
        if action == ["autoscaling"] and method == "DELETE":
            if "autoscaling" not in details:
                return 404, NOT_FOUND, {}
            del details["autoscaling"]
            return 204, None, {}
        if action == ["scale"] and method == "POST":
            count = (body or {}).get("numInstances")
            if not isinstance(count, int) or count < 1:
                return 400, {"id": "bad_request", "message": "numInstances is required"}, {}
            if not (details.get("autoscaling") or {}).get("enabled"):
                details["numInstances"] = count
            return 202, None, {}
        return 404, NOT_FOUND, {}


def _autoscaling_problem(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "a JSON object is required"
    missing = [key for key in ("enabled", "min", "max", "criteria") if key not in body]
    criteria = body.get("criteria") or {}
    for name in ("cpu", "memory"):
        criterion = criteria.get(name)
        if not isinstance(criterion, dict):
            missing.append(f"criteria.{name}")
        else:
            missing += [f"criteria.{name}.{k}" for k in ("enabled", "percentage") if k not in criterion]
    return f"missing {missing}" if missing else None
