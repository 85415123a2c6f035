"""A misbehaving news server on 127.0.0.1 for fetcher tests: slow, huge, broken, redirecting."""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

from tests.background_server import BackgroundServer

ETAG = '"v1"'
LAST_MODIFIED = "Mon, 01 Jun 2026 12:00:00 GMT"
MAX_AGE_S = 300
RETRY_AFTER_S = 120
BIG_BODY_BYTES = 50_000_000
STREAM_CHUNK_BYTES = 65_536
DRIP_INTERVAL_S = 0.05

FEED_XML = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Local news</title><link>http://local.test/</link>
<item><title>First story</title><link>http://local.test/1</link><guid>local-1</guid>
<pubDate>Mon, 01 Jun 2026 10:00:00 GMT</pubDate><description>One</description></item>
<item><title>Second story</title><link>http://local.test/2</link><guid>local-2</guid>
<pubDate>Mon, 01 Jun 2026 11:00:00 GMT</pubDate><description>Two</description></item>
</channel></rss>"""
TRUNCATED_XML = FEED_XML[: FEED_XML.index(b"<guid>local-2")]
MALFORMED_XML = b"<rss><channel><title>Broken</title><item><title>A & B</title><<<</rss>"
# UTF-8 bytes served as ISO-8859-1: the header lies.
UTF8_AS_LATIN1_XML = FEED_XML.replace(b"First story", "Café – naïve".encode())
# cp1252 bytes with no charset anywhere.
CP1252_NO_CHARSET_XML = FEED_XML.replace(b' encoding="utf-8"', b"").replace(
    b"First story", "Café – naïve".encode("cp1252")
)


def _gzip_zeros(size: int) -> bytes:
    """Gzip `size` zero bytes without ever holding them: a compression bomb of ~50 KB."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1_000_000)
    parts = [compressor.compress(block) for _ in range(size // len(block))]
    parts.append(compressor.flush())
    return b"".join(parts)


def _gzip(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


GZIP_BOMB = _gzip_zeros(BIG_BODY_BYTES)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are written separately: without this, Nagle's algorithm and delayed
    # ACKs stall every keep-alive response by 40 ms.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet: test output should show only failures."""

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        self.server.requests.append((parts.path, dict(self.headers.items())))
        self.server.peers.append(self.client_address)
        route = ROUTES.get(parts.path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        try:
            if route is None:
                self._send(404, b"not found")
            else:
                route(self, query)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send(
        self,
        status: int,
        body: bytes,
        headers: dict[str, str] | None = None,
        *,
        length: bool = True,
    ) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, status: int, location: str) -> None:
        self._send(status, b"", {"Location": location})


def _feed(handler: _Handler, query: dict[str, str]) -> None:
    if handler.headers.get("If-None-Match") == ETAG or (
        handler.headers.get("If-Modified-Since") == LAST_MODIFIED
    ):
        handler._send(304, b"", {"ETag": ETAG}, length=False)
        return
    headers = {
        "Content-Type": "application/rss+xml; charset=utf-8",
        "ETag": ETAG,
        "Last-Modified": LAST_MODIFIED,
        "Cache-Control": f"public, max-age={MAX_AGE_S}",
    }
    handler._send(200, FEED_XML, headers)


def _feed_gzip(handler: _Handler, query: dict[str, str]) -> None:
    handler._send(200, _gzip(FEED_XML), {"Content-Encoding": "gzip"})


def _feed_deflate(handler: _Handler, query: dict[str, str]) -> None:
    raw = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    handler._send(200, raw.compress(FEED_XML) + raw.flush(), {"Content-Encoding": "deflate"})


def _slow_headers(handler: _Handler, query: dict[str, str]) -> None:
    # With ?count=1 it is counted while waiting (not while replying, which would overlap the
    # client's next request); uncounted ones left over from other tests do not skew the count.
    counted = "count" in query
    if counted:
        handler.server.enter()
    handler.server.stopping.wait(float(query.get("s", "2")))
    if counted:
        handler.server.leave()
    handler._send(200, FEED_XML)


def _drip(handler: _Handler, query: dict[str, str]) -> None:
    """Headers at once, then one byte every DRIP_INTERVAL_S: each read is quick, the whole never."""
    handler.send_response(200)
    handler.send_header("Content-Length", str(len(FEED_XML)))
    handler.end_headers()
    for index in range(len(FEED_XML)):
        if handler.server.stopping.wait(DRIP_INTERVAL_S):
            return
        handler.wfile.write(FEED_XML[index : index + 1])
        handler.wfile.flush()


def _status(code: int, headers: Callable[[], dict[str, str]] = dict) -> Callable[..., None]:
    def route(handler: _Handler, query: dict[str, str]) -> None:
        handler._send(code, b"error page", headers())

    return route


def _retry_date() -> dict[str, str]:
    when = datetime.now(UTC) + timedelta(seconds=RETRY_AFTER_S)
    return {"Retry-After": format_datetime(when, usegmt=True)}


def _big_declared(handler: _Handler, query: dict[str, str]) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", str(BIG_BODY_BYTES))
    handler.end_headers()
    _stream_zeros(handler)


def _big_undeclared(handler: _Handler, query: dict[str, str]) -> None:
    handler.send_response(200)
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.close_connection = True
    _stream_zeros(handler)


def _stream_zeros(handler: _Handler) -> None:
    chunk = bytes(STREAM_CHUNK_BYTES)
    for _ in range(BIG_BODY_BYTES // STREAM_CHUNK_BYTES):
        if handler.server.stopping.is_set():
            return
        handler.wfile.write(chunk)


def _gzip_bomb(handler: _Handler, query: dict[str, str]) -> None:
    handler._send(200, GZIP_BOMB, {"Content-Encoding": "gzip", "Content-Type": "text/xml"})


def _body(data: bytes, content_type: str) -> Callable[..., None]:
    def route(handler: _Handler, query: dict[str, str]) -> None:
        handler._send(200, data, {"Content-Type": content_type})

    return route


def _redirects(handler: _Handler, query: dict[str, str]) -> None:
    """`/redirects?n=3` redirects n times (302) before serving the feed."""
    left = int(query.get("n", "1"))
    handler._redirect(302, f"/redirects?n={left - 1}" if left > 1 else "/feed.xml")


ROUTES: dict[str, Callable[[_Handler, dict[str, str]], None]] = {
    "/feed.xml": _feed,
    "/feed.gz": _feed_gzip,
    "/feed.deflate": _feed_deflate,
    "/slow-headers": _slow_headers,
    "/drip": _drip,
    "/status/500": _status(500),
    "/status/429": _status(429, lambda: {"Retry-After": str(RETRY_AFTER_S)}),
    "/status/503": _status(503, _retry_date),
    "/status/404": _status(404),
    "/big-declared": _big_declared,
    "/big-undeclared": _big_undeclared,
    "/gzip-bomb": _gzip_bomb,
    "/malformed": _body(MALFORMED_XML, "application/rss+xml"),
    "/truncated": _body(TRUNCATED_XML, "application/rss+xml"),
    "/charset-wrong": _body(UTF8_AS_LATIN1_XML, "text/xml; charset=iso-8859-1"),
    "/charset-missing": _body(CP1252_NO_CHARSET_XML, "text/xml"),
    "/loop": lambda handler, query: handler._redirect(302, "/loop"),
    "/loop-a": lambda handler, query: handler._redirect(307, "/loop-b"),
    "/loop-b": lambda handler, query: handler._redirect(307, "/loop-a"),
    "/redirects": _redirects,
    "/moved": lambda handler, query: handler._redirect(301, "/moved-again"),
    "/moved-again": lambda handler, query: handler._redirect(308, "/feed.xml"),
    "/moved-then-temp": lambda handler, query: handler._redirect(301, "/temp"),
    "/temp": lambda handler, query: handler._redirect(302, "/feed.xml"),
    "/to-file": lambda handler, query: handler._redirect(302, "file:///etc/passwd"),
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 512

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.peers: list[tuple[str, int]] = []
        self.stopping = threading.Event()
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()

    def enter(self) -> None:
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)

    def leave(self) -> None:
        with self._lock:
            self.active -= 1


class SourcesServer(BackgroundServer):
    """Run the server in a thread: `with SourcesServer() as server: server.url("/feed.xml")`."""

    _server: _Server

    def __init__(self) -> None:
        super().__init__(_Server())

    @property
    def requests(self) -> list[tuple[str, dict[str, str]]]:
        """(path, headers) of every request received, in order."""
        return self._server.requests

    @property
    def peers(self) -> list[tuple[str, int]]:
        """The client (address, port) of every request: one port per connection used."""
        return self._server.peers

    @property
    def max_active(self) -> int:
        """The most /slow-headers?count=1 requests waiting at once since the last reset()."""
        return self._server.max_active

    def reset(self) -> None:
        self._server.requests.clear()
        self._server.peers.clear()
        self._server.max_active = 0

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.stopping.set()  # slow handlers stop dripping, so shutdown is quick
        super().__exit__(exc_type, exc, traceback)


if __name__ == "__main__":
    # Serve until stdin closes; print the base URL so a parent process (a benchmark) can use it.
    import sys

    with SourcesServer() as running:
        print(running.url(""), flush=True)
        sys.stdin.read()
