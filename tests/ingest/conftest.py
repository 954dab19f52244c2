"""A real loopback HTTP server whose routes each test defines, and fetch settings for loopback use."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tidings.config import Settings

Route = Callable[[BaseHTTPRequestHandler], None]


class QuietServer(ThreadingHTTPServer):
    """A threading server that does not print a traceback when a client hangs up between requests."""

    def handle_error(self, request: object, client_address: object) -> None:
        """Ignore hang-ups (the fetcher drops connections on purpose at its limits); report anything else."""
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class LoopbackServer:
    """A threading HTTP server on 127.0.0.1 with a port chosen by the OS; routes map paths to handlers."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                route = server.routes.get(self.path.split("?", 1)[0])
                if route is None:
                    send_bytes(self, 404, b"not here", "text/plain")
                    return
                # The client may hang up on purpose (size or time limits).
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    route(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = QuietServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    def url(self, path: str = "/") -> str:
        """The absolute URL of `path` on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def hits(self, path: str) -> int:
        """How many requests reached `path`."""
        return sum(1 for p, _ in self.requests if p == path)

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._httpd.shutdown()
        self._httpd.server_close()


def send_bytes(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    content_type: str = "application/xml",
    headers: dict[str, str] | None = None,
) -> None:
    """Write a complete response with a Content-Length."""
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    """A started loopback server, stopped after the test."""
    srv = LoopbackServer()
    srv.start()
    yield srv
    srv.stop()


def loopback_settings(**overrides: object) -> Settings:
    """Settings that allow loopback fetches, with no politeness wait and short timeouts."""
    values: dict[str, object] = {
        "allow_private_networks": True,
        "politeness_delay": 0.0,
        "connect_timeout": 2.0,
        "read_timeout": 2.0,
        "total_timeout": 5.0,
        "max_retries": 2,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]
