"""A scriptable feed server on 127.0.0.1: each path serves what the test last set for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.background_server import BackgroundServer


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None  # answer 304 to a matching If-None-Match


def rss(items: list[tuple[str, str, datetime]], title: str = "Test feed") -> bytes:
    """An RSS 2.0 document of (guid, title, published) items, in the order given."""
    entries = "".join(
        f"<item><title>{headline}</title><link>https://news.test/{guid}</link>"
        f'<guid isPermaLink="false">{guid}</guid>'
        f"<pubDate>{format_datetime(when, usegmt=True)}</pubDate>"
        f"<description>About {headline}</description></item>"
        for guid, headline, when in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://news.test/</link>{entries}</channel></rss>"
    ).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        self.server.requests.append((self.path, dict(self.headers.items())))
        route = self.server.routes.get(self.path)
        if route is None:
            self._send(404, b"not found", {})
            return
        if route.etag is not None and self.headers.get("If-None-Match") == route.etag:
            self._send(304, b"", {"ETag": route.etag})
            return
        headers = dict(route.headers)
        if route.etag is not None:
            headers["ETag"] = route.etag
        self._send(route.status, route.body, headers)

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 304:
            self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []


class FeedServer(BackgroundServer):
    """`with FeedServer() as s: s.set("/a.xml", Route(body=...)); s.url("/a.xml")`."""

    _server: _Server

    def __init__(self) -> None:
        super().__init__(_Server())

    def set(self, path: str, route: Route) -> None:
        self._server.routes[path] = route

    @property
    def requests(self) -> list[tuple[str, dict[str, str]]]:
        return self._server.requests
