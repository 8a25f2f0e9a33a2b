"""How many instances the Render API service runs: a Pulumi dynamic provider over Render's REST API.

Render's PATCH ``/services/{id}`` cannot change the instance count or autoscaling (its
``webServiceDetailsPATCH`` has neither), and the Render provider's own ``AutoscaleService`` and
``ScaleService`` cannot record their result: the provider framework's Create fails with "resource
may have been created successfully but the id was not present in the response" when the answer has
no ``id`` (cloudy-sky-software/pulumi-provider-framework ``rest/provider.go`` Create, after
``tryPluckingProp`` in ``rest/response.go``), and PUT ``/services/{id}/autoscaling`` answers the
bare autoscaling object while POST ``/services/{id}/scale`` answers 202 with no body
(cloudy-sky-software/pulumi-render ``provider/cmd/pulumi-resource-render/openapi_generated.yml``;
``metadata.json`` also gives ``AutoscaleService`` no read and no delete). So
:class:`RenderScalingProvider` calls those endpoints itself (https://api-docs.render.com,
"Update autoscaling config", "Delete autoscaling config", "Scale instance count"):

* ``min_instances < max_instances``: PUT ``/v1/services/{id}/autoscaling`` with ``{enabled: true,
  min, max, criteria: {cpu: {enabled: true, percentage}, memory: {enabled: true, percentage}}}``.
* ``min_instances == max_instances``: a fixed count. Render ignores ``/scale`` while autoscaling is
  on ("Render ignores this value as long as autoscaling is enabled for the service"), so the
  autoscaling config is deleted first (DELETE, 404 meaning there was none), then the count set
  with POST ``/scale`` ``{numInstances}``. Going from autoscaling to a fixed count, Render may
  start moving the service to its previous manual count (1 unless set in the dashboard) for the
  moment between the two calls; the POST follows at once.
* ``read`` (refresh) is GET ``/v1/services/{id}``: ``serviceDetails.autoscaling`` when Render
  returns it enabled, else ``serviceDetails.numInstances`` (openapi_generated.yml
  ``webServiceDetailsOutput``: numInstances is "the number of instances the service is scaled to"
  for a manually scaled service), so a change made in the dashboard shows as drift and the next
  ``up`` puts the program's values back.
* ``delete`` sends nothing and leaves the service scaled as last applied. Deleting the autoscaling
  config would drop production to its manual count, and the engine deletes a renamed or replaced
  resource *after* creating its successor on the same service, so a DELETE there would undo what
  the successor just set. When the service itself goes, its scaling goes with it. To turn
  autoscaling off, set ``minInstances`` equal to ``maxInstances``.
* The id is the service's ``srv-`` id (one scaling per service); a new service replaces this
  resource, every other change is an update in place.

The API key comes from the stack's ``render:apiKey`` (the engine hands dynamic providers the whole
stack configuration, decrypted: pulumi/pulumi ``pkg/resource/deploy/target.go``
GetPackageConfig) or else ``RENDER_APIKEY``, the Render provider's own order
(cloudy-sky-software/pulumi-render ``provider/pkg/provider/provider.go`` OnConfigure). It is read in
the provider process at operation time and dropped when the provider is pickled, so it never
reaches the state. ``RENDER_API_URL`` overrides the base URL (tests point it at a local fake).

HTTP, retries (429 with ``Retry-After`` read case-insensitively; 5xx and connection errors for
idempotent requests) and the User-Agent come from the shared client, components/platforms/rest.py.
Render documents its limits (https://api-docs.render.com/reference/rate-limiting: 30 POST, PATCH
or DELETE a minute) and asks for retries with backoff on 429.

Like the Supabase provider, this one is stored in the state **by reference**: the module path
``components.platforms.render_scaling`` and the class name (pulumi
sdk/python/lib/pulumi/dynamic/dynamic.py ``serialize_provider``). Renaming or moving either breaks
refresh and delete of every stack that stored the old path: keep a re-export at the old path and run
``pulumi up`` once before removing it.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

import pulumi
from pulumi import dynamic

from components.platforms.rest import ApiError, RestClient

DEFAULT_API_URL = "https://api.render.com"
USER_AGENT = "platform-pulumi-render-scaling-provider/1 (+components/platforms/render_scaling.py)"
TOKEN_CONFIG = "render:apiKey"
TOKEN_ENV = "RENDER_APIKEY"
API_URL_ENV = "RENDER_API_URL"

INPUTS = ("service_id", "min_instances", "max_instances", "cpu_target_percent", "memory_target_percent")


class RenderApiError(ApiError):
    """A Render API call failed; the message says what to do about it."""


class RenderNotFoundError(RenderApiError):
    """Render answered 404."""


class RenderClient(RestClient):
    """Render's REST API through the shared client (components/platforms/rest.py)."""

    vendor = "Render"
    credential = "API key"
    refused_hint = (
        f"Set {TOKEN_CONFIG} (pulumi config set --secret) or {TOKEN_ENV} to an API key of a member "
        "of the workspace that owns the service; autoscaling also needs a Professional workspace "
        "or higher (https://render.com/docs/scaling)."
    )
    user_agent = USER_AGENT
    error = RenderApiError
    not_found = RenderNotFoundError


def autoscales(props: Mapping[str, Any]) -> bool:
    """Whether these inputs ask for autoscaling (a range) rather than a fixed count."""
    return int(props["max_instances"]) > int(props["min_instances"])


def autoscaling_body(props: Mapping[str, Any]) -> dict[str, Any]:
    """The body of PUT ``/services/{id}/autoscaling`` (openapi_generated.yml
    ``webServiceDetails.autoscaling``: enabled, min, max and criteria required; each criterion
    enabled and percentage required)."""
    return {
        "enabled": True,
        "min": int(props["min_instances"]),
        "max": int(props["max_instances"]),
        "criteria": {
            "cpu": {"enabled": True, "percentage": int(props["cpu_target_percent"])},
            "memory": {"enabled": True, "percentage": int(props["memory_target_percent"])},
        },
    }


def _wanted(props: Mapping[str, Any]) -> tuple[Any, ...]:
    """What the inputs mean on Render: the targets count only while autoscaling."""
    if autoscales(props):
        return ("autoscaling", *(props.get(key) for key in INPUTS[1:]))
    return ("fixed", int(props["min_instances"]))


class RenderScalingProvider(dynamic.ResourceProvider):
    """The instance count or autoscaling of one Render service.

    Inputs (all plain): ``service_id``, ``min_instances``, ``max_instances``,
    ``cpu_target_percent``, ``memory_target_percent``; the outputs are the same keys, as Render
    last answered them. The keyword arguments bound retries; ``sleep`` is injectable so tests run
    fast.
    """

    serialize_as_secret_always = False

    def __init__(
        self,
        *,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = 5,
        max_backoff_seconds: float = 30.0,
        request_timeout_seconds: float = 30.0,
    ):
        super().__init__()
        self.sleep = sleep
        self.max_attempts = max_attempts
        self.max_backoff_seconds = max_backoff_seconds
        self.request_timeout_seconds = request_timeout_seconds
        self._configured_api_key: str | None = None

    def __getstate__(self) -> dict[str, Any]:
        # The engine pickles the provider into the state (dill); the key must never go with it.
        return {k: v for k, v in self.__dict__.items() if k != "_configured_api_key"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _configured_api_key=None)

    # -- engine operations ---------------------------------------------------------------

    def configure(self, req: dynamic.ConfigureRequest) -> None:
        key = req.config.get(TOKEN_CONFIG)
        self._configured_api_key = str(key).strip() if key else None

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        service_id = str(props["service_id"])
        return dynamic.CreateResult(service_id, self._apply(service_id, props))

    def read(self, id_: str, props: dict[str, Any]) -> dynamic.ReadResult:
        try:
            service = self._client().request("GET", f"/v1/services/{id_}")
        except RenderNotFoundError:
            return dynamic.ReadResult("", {})
        details = (service or {}).get("serviceDetails") or {}
        autoscaling = details.get("autoscaling") or {}
        outputs = {**{key: props.get(key) for key in INPUTS}, "service_id": id_}
        if autoscaling.get("enabled"):
            criteria = autoscaling.get("criteria") or {}
            outputs.update(
                min_instances=autoscaling.get("min"),
                max_instances=autoscaling.get("max"),
                cpu_target_percent=_percentage(criteria.get("cpu")),
                memory_target_percent=_percentage(criteria.get("memory")),
            )
        else:
            count = details.get("numInstances")
            outputs.update(min_instances=count, max_instances=count)
        return dynamic.ReadResult(id_, outputs)

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        replaces = ["service_id"] if olds.get("service_id") != news.get("service_id") else []
        changed = bool(replaces) or _wanted_or_none(olds) != _wanted(news)
        return dynamic.DiffResult(changes=changed, replaces=replaces, delete_before_replace=False)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        return dynamic.UpdateResult(self._apply(id_, news))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Sends nothing (module docstring): a DELETE would drop production to its manual count,
        and would undo a successor's settings after a rename or a replacement."""

    # -- helpers -------------------------------------------------------------------------

    def _apply(self, service_id: str, props: Mapping[str, Any]) -> dict[str, Any]:
        client = self._client()
        outputs = {key: props.get(key) for key in INPUTS}
        try:
            if autoscales(props):
                answer = client.request(
                    "PUT", f"/v1/services/{service_id}/autoscaling", autoscaling_body(props)
                )
                outputs.update(_answered(answer))
            else:
                # Autoscaling first: Render ignores /scale while it is on. A 404 here means the
                # service has no autoscaling config (or is gone, which the POST then reports).
                with contextlib.suppress(RenderNotFoundError):
                    client.request("DELETE", f"/v1/services/{service_id}/autoscaling")
                # Setting a count is idempotent: retried on 5xx like a PUT.
                client.request(
                    "POST",
                    f"/v1/services/{service_id}/scale",
                    {"numInstances": int(props["min_instances"])},
                    idempotent=True,
                )
        except RenderNotFoundError as error:
            raise RenderApiError(
                f"Render service {service_id} was not found ({error}): it was deleted outside "
                "Pulumi, or the API key's workspace does not own it. Run `pulumi refresh` so "
                "that the next up creates the service again",
                404,
            ) from None
        return outputs

    def _client(self) -> RenderClient:
        token = self._configured_api_key or os.environ.get(TOKEN_ENV, "").strip()
        if not token:
            raise RenderApiError(
                f"neither {TOKEN_CONFIG} nor {TOKEN_ENV} is set: give a Render API key "
                "(https://dashboard.render.com/u/settings#api-keys) before running pulumi"
            )
        return RenderClient(
            token,
            os.environ.get(API_URL_ENV, DEFAULT_API_URL),
            sleep=self.sleep,
            max_attempts=self.max_attempts,
            max_backoff_seconds=self.max_backoff_seconds,
            request_timeout_seconds=self.request_timeout_seconds,
        )


def _wanted_or_none(props: Mapping[str, Any]) -> tuple[Any, ...] | None:
    # A read of a service whose count Render did not answer leaves nothing to compare: a change.
    if props.get("min_instances") is None or props.get("max_instances") is None:
        return None
    return _wanted(props)


def _percentage(criterion: Mapping[str, Any] | None) -> int | None:
    # A criterion turned off in the dashboard is no target: it differs from any the program sets.
    return criterion.get("percentage") if criterion and criterion.get("enabled") else None


def _answered(answer: Any) -> dict[str, Any]:
    """What Render's PUT answer says about the inputs (the autoscaling object), when it says it."""
    if not isinstance(answer, dict) or not answer.get("enabled"):
        return {}
    criteria = answer.get("criteria") or {}
    return {
        "min_instances": answer.get("min"),
        "max_instances": answer.get("max"),
        "cpu_target_percent": _percentage(criteria.get("cpu")),
        "memory_target_percent": _percentage(criteria.get("memory")),
    }


class RenderScaling(dynamic.Resource, module="render", name="Scaling"):
    """The dynamic resource (``pulumi-python:dynamic/render:Scaling``); :class:`RenderApi` makes it."""

    service_id: pulumi.Output[str]
    min_instances: pulumi.Output[int]
    max_instances: pulumi.Output[int]
    cpu_target_percent: pulumi.Output[int]
    memory_target_percent: pulumi.Output[int]

    def __init__(self, name: str, props: Mapping[str, Any], opts: pulumi.ResourceOptions):
        super().__init__(RenderScalingProvider(), name, dict(props), opts)
