"""A loopback HTTP server that serves a folder of article files (BBC News, the demo corpus) as RSS feeds.

Each feed holds its items with their full text, so no page fetch is needed. The server counts the requests to
each feed and records the item URLs it served, so that a run can check every item was stored exactly once.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape


def read_articles(folder: Path, limit: int) -> list[tuple[str, str]]:
    """(title, text) of up to `limit` articles: BBC-style .txt files (title on line 1) or JSONL rows."""
    found: list[tuple[str, str]] = []
    for path in sorted(folder.rglob("*")):
        if len(found) >= limit:
            break
        if path.suffix == ".txt" and path.name[0].isdigit():
            lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
            if len(lines) > 1:
                found.append((lines[0].strip(), "\n".join(lines[1:]).strip()))
        elif path.suffix == ".jsonl":
            for line in path.read_text(encoding="utf-8").split("\n"):  # not splitlines: U+2028 in text
                row = json.loads(line) if line.strip() else {}
                if row.get("title") and row.get("text") and len(found) < limit:
                    found.append((str(row["title"]), str(row["text"])))
    return found


class QuietServer(ThreadingHTTPServer):
    """A threading server that does not print the traceback of a client that hung up (a killed worker)."""

    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """Ignore dropped connections; the client's side reports its own failure."""


class FeedServer:
    """Serve articles as `n_feeds` RSS feeds at /feed/<i>.xml on 127.0.0.1."""

    def __init__(self, articles: list[tuple[str, str]], n_feeds: int) -> None:
        self.hits: Counter[str] = Counter()
        self.served: set[str] = set()
        self._lock = threading.Lock()
        self._httpd = QuietServer(("127.0.0.1", 0), self._handler())
        self.port = int(self._httpd.server_address[1])
        self.feeds: dict[str, list[tuple[str, str, str]]] = {}
        for i, (title, text) in enumerate(articles):
            path = f"/feed/{i % n_feeds}.xml"
            self.feeds.setdefault(path, []).append((title, text, self.url(f"/article/{i}")))
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.1,), daemon=True)

    def url(self, path: str) -> str:
        """The absolute URL of a path on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def feed_urls(self) -> list[str]:
        """Every feed's URL."""
        return [self.url(path) for path in sorted(self.feeds)]

    def render(self, path: str) -> bytes:
        """The RSS document of one feed."""
        items = "".join(
            f"<item><title>{escape(title)}</title><link>{escape(link)}</link><guid>{escape(link)}</guid>"
            f"<description>{escape(text)}</description></item>"
            for title, text, link in self.feeds[path]
        )
        channel = f"<channel><title>Feed {escape(path)}</title><link>{self.url('/')}</link>{items}</channel>"
        return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0">{channel}</rss>'.encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                with server._lock:
                    server.hits[path] += 1
                if path not in server.feeds:
                    self._send(404, b"not here", "text/plain")
                    return
                with server._lock:
                    server.served.update(link for _, _, link in server.feeds[path])
                self._send(200, server.render(path), "application/rss+xml")

            def _send(self, status: int, body: bytes, media: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", media)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler

    def start(self) -> FeedServer:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._httpd.shutdown()
        self._httpd.server_close()
