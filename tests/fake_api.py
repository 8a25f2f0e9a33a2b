"""The part the local API fakes share: a real HTTP server on 127.0.0.1, bearer auth, recording and
failure injection. Each fake (tests/fake_supabase.py, tests/fake_render.py) answers its API in
``_route``.

Failure injection (the counters apply to the next requests, whatever their path):

* ``token``: requests without ``Authorization: Bearer <token>`` get 401.
* ``throttle(n, retry_after, header)``: the next ``n`` requests get 429 with a ``Retry-After``
  header spelt ``header`` (header names are case-insensitive, RFC 9110 section 5.1).
* ``fail(n, status, method)``: the next ``n`` requests (of ``method`` only, when given) get
  ``status`` (500 by default).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = tuple[int, Any, dict[str, str]]
"""Status, JSON body (None: no body) and extra headers."""


@dataclass
class Recorded:
    method: str
    path: str
    body: Any
    authorization: str | None
    user_agent: str | None = None


@dataclass
class FakeApi:
    token: str = "test-token"
    requests: list[Recorded] = field(default_factory=list)
    _throttles: list[tuple[str, str]] = field(default_factory=list)
    _failures: list[tuple[int, str | None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self):  # the subclass, for chaining
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def throttle(self, times: int, retry_after: str = "0", header: str = "Retry-After") -> None:
        self._throttles.extend([(header, retry_after)] * times)

    def fail(self, times: int, status: int = 500, method: str | None = None) -> None:
        self._failures.extend([(status, method)] * times)

    def calls(self, method: str, path_prefix: str = "") -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    def _route(self, method: str, path: str, body: Any) -> Answer:
        raise NotImplementedError  # each fake answers its own API

    def _answer(
        self, method: str, path: str, body: Any, authorization: str | None, user_agent: str | None = None
    ) -> Answer:
        self.requests.append(Recorded(method, path, body, authorization, user_agent))
        if authorization != f"Bearer {self.token}":
            return 401, {"message": "Unauthorized"}, {}
        if self._throttles:
            header, value = self._throttles.pop(0)
            return 429, {"message": "Too many requests"}, {header: value}
        if self._failures and self._failures[0][1] in (None, method):
            return self._failures.pop(0)[0], {"message": "Internal server error"}, {}
        return self._route(method, path, body)

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
                data = json.dumps(payload).encode() if payload is not None else b""
                self.send_response(status)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve  # noqa: N815 (http.server's naming)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep pytest output clean

        return Handler
