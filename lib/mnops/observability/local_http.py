"""A local HTTP server for the harnesses that stand in for cluster endpoints (fake services, the
alert webhook): a free port on 127.0.0.1, served from a background thread while a `with` lasts.

    class FakeServices(LocalServer):             # a subclass passes its request handler
        def __init__(self) -> None:
            super().__init__(Handler)                 # Handler: a QuietHandler subclass

    with FakeServices() as fake:
        url = f"http://{fake.address}/metrics"
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self


class QuietHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return  # a scrape every second would drown the harness's own output


class LocalServer:
    def __init__(self, handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1") -> None:
        self.server = ThreadingHTTPServer((host, 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        """host:port the server listens on."""
        host, port = self.server.server_address[:2]
        return f"{host!s}:{port}"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
