"""A reverse proxy on loopback between lamp and a real `mlflow server`: it counts every REST call
and injects faults into the ones a test picks.

Faults act on requests matching a method and a path pattern, for a number of matches:

- ``status``: answer ``code`` (500, 503, 429, ...) without forwarding; the server never acts.
- ``reset``: read the request, then reset the connection without forwarding.
- ``drop``: forward the request, let the server act, then reset the connection unanswered.
- ``slow``: forward the request, then hold the answer for ``delay`` seconds (past the client's
  timeout) before sending it.
- ``hang``: read the request and answer nothing for ``delay`` seconds, without forwarding it (a
  server that stopped answering); then reset the connection.

Connection refusal proper is a closed port (``closed_port`` in tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import http.client
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

#: The error code MLflow's server and Databricks put in an answer of each status.
_ERROR_CODES = {
    400: "INVALID_PARAMETER_VALUE",
    403: "PERMISSION_DENIED",
    404: "RESOURCE_DOES_NOT_EXIST",
    429: "REQUEST_LIMIT_EXCEEDED",
    503: "TEMPORARILY_UNAVAILABLE",
}
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}


@dataclass
class Fault:
    kind: str  # status | reset | drop | slow | hang
    method: str
    path: str  # a regular expression, searched in the request path
    times: int = 1
    code: int = 503
    delay: float = 0.0
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        return (
            self.hits < self.times
            and method == self.method
            and re.search(self.path, path) is not None
        )


@dataclass
class Proxy:
    upstream: str
    calls: list[tuple[str, str]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def start(self) -> Proxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                body = self._body()
                path = urlsplit(self.path).path
                with proxy.lock:
                    proxy.calls.append((self.command, path))
                    fault = next((f for f in proxy.faults if f.matches(self.command, path)), None)
                    if fault is not None:
                        fault.hits += 1
                if fault is not None and fault.kind == "status":
                    code = _ERROR_CODES.get(fault.code, "INTERNAL_ERROR")
                    payload = f'{{"error_code": "{code}", "message": "injected"}}'.encode()
                    self._answer(
                        fault.code,
                        {"Retry-After": "0", "Content-Type": "application/json"},
                        payload,
                    )
                    return
                if fault is not None and fault.kind in ("reset", "hang"):
                    if fault.kind == "hang":
                        time.sleep(fault.delay)
                    self._reset()
                    return
                status, headers, payload = proxy.forward(
                    self.command, self.path, self.headers, body
                )
                if fault is not None and fault.kind == "drop":
                    self._reset()
                    return
                if fault is not None and fault.kind == "slow":
                    time.sleep(fault.delay)
                with contextlib.suppress(OSError):
                    self._answer(status, headers, payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        if size == 0:
                            self.rfile.readline()
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _answer(self, status: int, headers: dict[str, str], payload: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _reset(self) -> None:
                # SO_LINGER 0: the client sees a reset, as from a crashed load balancer.
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def forward(self, method: str, path: str, headers, body: bytes):
        target = urlsplit(self.upstream)
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
        try:
            sent = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}
            sent["Content-Length"] = str(len(body))
            conn.request(method, path, body=body, headers=sent)
            resp = conn.getresponse()
            payload = resp.read()
            kept = {
                k: v
                for k, v in resp.getheaders()
                if k.lower() not in _HOP_BY_HOP and k.lower() != "content-length"
            }
            return resp.status, kept, payload
        finally:
            conn.close()

    def inject(self, kind: str, method: str, path: str, **kwargs: object) -> Fault:
        fault = Fault(kind, method, path, **kwargs)  # type: ignore[arg-type]
        with self.lock:
            self.faults.append(fault)
        return fault

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self.faults.clear()

    def count(self) -> int:
        with self.lock:
            return len(self.calls)
