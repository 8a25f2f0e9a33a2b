"""The JSON-over-HTTPS client the dynamic providers (Supabase, Render scaling) share.

Standard library only: it runs inside the Pulumi engine's dynamic-provider process, which imports
this module again by path (see the providers' docstrings on renaming). Bearer auth, a
``User-Agent`` naming the caller, and bounded retries: 429 always (the API answers it before doing
anything, honouring ``Retry-After``), 5xx and connection errors only for idempotent requests.
``Retry-After`` is read case-insensitively (HTTP header names are case-insensitive, RFC 9110
section 5.1). Each vendor's client is a subclass naming the vendor, its credential and what to do
when the credential is refused, and the exception types it raises.
"""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar


class ApiError(Exception):
    """An API call failed; the message says what to do about it."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Response:
    status: int
    body: Any
    headers: Mapping[str, str]
    """Header names in lower case."""


class RestClient:
    """A minimal JSON API client: bearer auth, JSON bodies, bounded retries."""

    vendor: ClassVar[str]
    """The service's name in messages (``Supabase``)."""
    credential: ClassVar[str]
    """What the token is called (``access token``)."""
    refused_hint: ClassVar[str]
    """What to do when the API answers 401 or 403."""
    user_agent: ClassVar[str]
    error: ClassVar[type[ApiError]] = ApiError
    not_found: ClassVar[type[ApiError]] = ApiError
    """Raised for 404, so callers can tell "gone" from a failure."""

    def __init__(
        self,
        token: str,
        base_url: str,
        *,
        sleep: Callable[[float], None],
        max_attempts: int,
        max_backoff_seconds: float,
        request_timeout_seconds: float,
    ):
        self._token = token
        self._base_url = base_url.rstrip("/")
        self._sleep = sleep
        self._max_attempts = max_attempts
        self._max_backoff = max_backoff_seconds
        self._timeout = request_timeout_seconds

    def request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        idempotent: bool | None = None,
    ) -> Any:
        """The decoded JSON body of a 2xx answer (None when empty); raises ``error`` otherwise.

        ``idempotent`` defaults to "not a POST": a POST that may have reached the API is retried
        only on 429; pass True for a POST that sets a value (repeating it changes nothing).
        """
        idempotent = method != "POST" if idempotent is None else idempotent
        last_problem = ""
        for attempt in range(1, self._max_attempts + 1):
            try:
                response = self._send(method, path, body)
            except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
                last_problem = f"could not reach {self._base_url} ({error})"
                if not idempotent:
                    # The request may have reached the API: retrying could create a second object.
                    raise self.error(f"{method} {path}: {last_problem}") from None
                self._backoff(attempt, None)
                continue
            if 200 <= response.status < 300:
                return response.body
            if response.status in (401, 403):
                raise self.error(
                    f"{method} {path}: {self.vendor} refused the {self.credential} "
                    f"(HTTP {response.status}: {body_message(response.body)}). {self.refused_hint}",
                    response.status,
                )
            if response.status == 404:
                raise self.not_found(f"{method} {path}: not found (HTTP 404)", 404)
            retryable = response.status == 429 or (idempotent and response.status >= 500)
            last_problem = f"HTTP {response.status}: {body_message(response.body)}"
            if not retryable:
                raise self.error(f"{method} {path}: {last_problem}", response.status)
            if attempt < self._max_attempts:
                self._backoff(attempt, response.headers.get("retry-after"))
        raise self.error(
            f"{method} {path}: still failing after {self._max_attempts} attempts ({last_problem}); "
            f"{self.vendor} is rate limiting or unavailable, try again later"
        )

    def _send(self, method: str, path: str, body: Mapping[str, Any] | None) -> Response:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self._base_url + path,
            data=data,
            method=method,
            headers={
                "Authorization": f"Bearer {self._token}",
                "Accept": "application/json",
                "User-Agent": self.user_agent,
                **({"Content-Type": "application/json"} if data is not None else {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as answer:
                return Response(answer.status, _decode(answer.read()), _lower(answer.headers.items()))
        except urllib.error.HTTPError as error:
            return Response(error.code, _decode(error.read()), _lower((error.headers or {}).items()))

    def _backoff(self, attempt: int, retry_after: str | None) -> None:
        delay = min(self._max_backoff, 2.0 ** (attempt - 1))
        if retry_after is not None:
            # An HTTP date instead of seconds keeps the exponential delay.
            with contextlib.suppress(ValueError):
                delay = min(self._max_backoff, max(0.0, float(retry_after)))
        self._sleep(delay)


def body_message(body: Any) -> str:
    """The human part of an error body (``{"message": ...}`` for Supabase and Render)."""
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or body)
    return str(body)[:200]


def _lower(headers: Any) -> dict[str, str]:
    return {str(name).lower(): value for name, value in headers}


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")
