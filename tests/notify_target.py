"""Local notification targets on 127.0.0.1 for Apprise's `json://` URLs: one that records what it is sent,
one that never answers. No outside service is ever contacted."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

GUARD = 20.0  # seconds: a lost notification fails the test instead of freezing the suite


class Target:
    """An HTTP server recording every JSON body posted to it (answering `status`)."""

    def __init__(self, status: int = 200) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self._arrived = threading.Condition()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                self.send_response(status)
                self.end_headers()
                with owner._arrived:
                    owner.bodies.append(body)
                    owner.paths.append(self.path)
                    owner._arrived.notify_all()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()

    def url(self, path: str = "hook") -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    def wait_for(self, count: int) -> list[dict[str, Any]]:
        """The bodies once `count` have arrived (the guard only stops a lost one from hanging the suite)."""
        with self._arrived:
            assert self._arrived.wait_for(lambda: len(self.bodies) >= count, timeout=GUARD), self.bodies
            return list(self.bodies)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class HungTarget:
    """A port that accepts connections (the kernel's backlog) and never answers a byte."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]

    def url(self, path: str = "hook") -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    def close(self) -> None:
        self.sock.close()
