"""A real HTTP receiver for the outputs tests (webhooks, Splunk HEC, apprise's ``json://``):
a threaded ``http.server`` on loopback that keeps every request, answers a status the test
chooses, and can be taken down and brought back on the same port."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class HttpReceiver:
    def __init__(
        self, port: int = 0, status: int = 200, answer: bytes = b'{"text":"Success","code":0}'
    ) -> None:
        self.port = port
        self.status = status
        self.answer = answer
        self.requests: list[Request] = []
        self.decide: Callable[[Request], int] | None = None
        """Per request: the status to answer (overrides ``status``); only 2xx ones are kept."""
        self.seen = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HttpReceiver:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length", "0"))
                req = Request(self.path, dict(self.headers.items()), self.rfile.read(n))
                with owner._lock:
                    owner.seen += 1
                    status = owner.decide(req) if owner.decide else owner.status
                    if status < 300:
                        owner.requests.append(req)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(owner.answer)))
                self.end_headers()
                self.wfile.write(owner.answer)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = int(self._server.server_address[1])
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def taken(self) -> list[Request]:
        with self._lock:
            return list(self.requests)
