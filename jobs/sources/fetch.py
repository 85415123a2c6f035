"""HTTP retrieval of sources: conditional, bounded in time and size, polite, never raising."""

from __future__ import annotations

import asyncio
import logging
import random
import re
import ssl
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import ClassVar
from urllib.parse import urljoin, urlsplit

import httpx

from bot.domain.ssrf import (
    GuardedTransport,
    Resolver,
    UnsafeAddress,
    check_ip,
    check_url_syntax,
    literal_address,
    system_resolver,
)

logger = logging.getLogger(__name__)

# Operators may pass their own (with a contact URL) through Fetcher(user_agent=...).
USER_AGENT = "Herald/0.1 (news and deadline alert bot; feed reader)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.8, */*;q=0.5"
)
MAX_BODY_BYTES = 10_000_000
CONNECT_TIMEOUT_S = 10.0
TOTAL_TIMEOUT_S = 30.0
# Chosen with bench/bench_parse.py: larger pools cost several times more CPU per fetch.
MAX_CONCURRENCY = 16
PER_HOST_LIMIT = 2
MAX_REDIRECTS = 5
KEEPALIVE_EXPIRY_S = 30.0
READ_CHUNK_BYTES = 65_536
# An error page, redirect or 304 body up to this size is read and dropped, so its connection
# is kept alive; a larger one is cut off and its connection closed.
MAX_DISCARDED_BYTES = 65_536
# Decompressed bytes produced per zlib call, so a bomb never inflates more than this at once.
DECODE_CHUNK_BYTES = 65_536
JITTER_FRACTION = 0.1
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECT_STATUSES = frozenset({301, 308})
RETRY_AFTER_STATUSES = frozenset({429, 503})
_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d+)", re.I)


# --- errors ---------------------------------------------------------------------------------


class SourceError(Exception):
    """A source could not be read; `message` is short and fit for a source-health line."""

    kind: ClassVar[str] = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class FetchError(SourceError):
    """Retrieval failed."""

    kind = "fetch"


class FetchTimeout(FetchError):
    kind = "timeout"


class BodyTooLarge(FetchError):
    kind = "too_large"


class TooManyRedirects(FetchError):
    kind = "too_many_redirects"


class HTTPStatusError(FetchError):
    kind = "http_status"

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status

    def __reduce__(self) -> tuple[object, tuple[int, str]]:
        return type(self), (self.status, self.message)


class BlockedAddress(FetchError):
    kind = "blocked_address"


class ConnectionFailed(FetchError):
    kind = "connection"


class InvalidURL(FetchError):
    kind = "bad_url"


class BadResponse(FetchError):
    """A response we cannot read: corrupt compression or an unknown content encoding."""

    kind = "bad_response"


# --- result ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one fetch produced. `body` is decoded from gzip/deflate, None unless status is 2xx.

    `permanent_redirect_to` is where an unbroken chain of 301/308 led (the caller stores it as
    the source's new URL); `final_url` is where the body came from, temporary hops included.
    `etag` and `last_modified` are what this response sent; on a 304 without them, keep the
    stored ones.
    """

    url: str
    final_url: str
    status: int | None
    body: bytes | None
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    not_modified: bool = False
    permanent_redirect_to: str | None = None
    retry_after_s: float | None = None
    max_age_s: float | None = None
    error: FetchError | None = None
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class _Chain:
    """The redirect chain walked so far (mutable, internal to one fetch)."""

    start: str
    url: str
    visited: set[str] = field(default_factory=set)
    permanent_to: str | None = None  # only a target that passed every check of its own hop
    candidate: str | None = None  # a permanent redirect's target, not yet fetched
    only_permanent: bool = True


# --- response facts (pure) ------------------------------------------------------------------


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date; None if unreadable."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def parse_max_age(cache_control: str | None) -> float | None:
    """The max-age of a Cache-Control header in seconds, or None."""
    match = _MAX_AGE.search(cache_control or "")
    return float(match.group(1)) if match else None


def jitter_s(
    period_s: float, *, fraction: float = JITTER_FRACTION, rng: random.Random | None = None
) -> float:
    """A random delay in [0, period_s × fraction) so sources sharing a period do not fire
    together."""
    return (rng or random).uniform(0.0, max(0.0, period_s * fraction))


def _status_error(status: int, reason: str, retry_after_s: float | None) -> HTTPStatusError:
    message = f"HTTP {status} {reason}".strip()
    if retry_after_s is not None:
        message += f" (retry after {retry_after_s:.0f} s)"
    return HTTPStatusError(status, message)


# --- bounded body decoding ------------------------------------------------------------------


class _Inflater:
    """Incremental gzip/deflate decoder that never yields more than DECODE_CHUNK_BYTES at once."""

    def __init__(self, encoding: str) -> None:
        self._encoding = encoding
        self._zlib: zlib._Decompress | None = None

    def _start(self, first: bytes) -> zlib._Decompress:
        if self._encoding == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        # "deflate" is meant to be zlib-wrapped, but some servers send raw deflate.
        wrapped = len(first) >= 2 and first[0] & 0x0F == 8 and (first[0] << 8 | first[1]) % 31 == 0
        return zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._zlib is None:
            if not data:
                return
            self._zlib = self._start(data)
        try:
            while True:
                out = self._zlib.decompress(data, DECODE_CHUNK_BYTES)
                if out:
                    yield out
                data = self._zlib.unconsumed_tail
                if self._zlib.eof or (not data and len(out) < DECODE_CHUNK_BYTES):
                    return
        except zlib.error as exc:
            raise BadResponse(f"corrupt {self._encoding} body") from exc


def _decoder(content_encoding: str) -> _Inflater | None:
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip", "deflate"):
        return _Inflater("deflate" if encoding == "deflate" else "gzip")
    raise BadResponse(f"unsupported content encoding {encoding!r}")


# --- fetcher --------------------------------------------------------------------------------


class HostLimiter:
    """One semaphore per host, dropped when no fetch uses it so the map stays small."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._slots: dict[str, tuple[asyncio.Semaphore, int]] = {}

    @asynccontextmanager
    async def hold(self, host: str) -> AsyncIterator[None]:
        semaphore, users = self._slots.get(host, (asyncio.Semaphore(self._limit), 0))
        self._slots[host] = (semaphore, users + 1)
        try:
            async with semaphore:
                yield
        finally:
            semaphore, users = self._slots[host]
            if users <= 1:
                del self._slots[host]
            else:
                self._slots[host] = (semaphore, users - 1)


class Fetcher:
    """Fetches sources over small per-host connection pools (plain for trusted sources,
    guarded against SSRF for untrusted ones). Use as an async context manager, or call
    `aclose()`.

    `transport` replaces every pool (tests); `resolver` is used by the guarded pools.
    """

    def __init__(
        self,
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        total_timeout_s: float = TOTAL_TIMEOUT_S,
        max_concurrency: int = MAX_CONCURRENCY,
        per_host_limit: int = PER_HOST_LIMIT,
        resolver: Resolver | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        user_agent: str = USER_AGENT,
    ) -> None:
        # What a Fetcher in another process needs to behave like this one (no transport: a
        # test's transport cannot cross processes, so `settings` is None with one).
        self.settings: dict[str, object] | None = None
        if transport is None and resolver is None:
            self.settings = {
                "max_body_bytes": max_body_bytes,
                "connect_timeout_s": connect_timeout_s,
                "total_timeout_s": total_timeout_s,
                "max_concurrency": max_concurrency,
                "per_host_limit": per_host_limit,
                "user_agent": user_agent,
            }
        self._max_body_bytes = max_body_bytes
        self._total_timeout_s = total_timeout_s
        self._global = asyncio.Semaphore(max_concurrency)
        self._hosts = HostLimiter(per_host_limit)
        self._timeout = httpx.Timeout(total_timeout_s, connect=connect_timeout_s)
        self._headers = {
            "User-Agent": user_agent,
            "Accept": ACCEPT,
            "Accept-Encoding": "gzip, deflate",
        }
        self._resolver = resolver or system_resolver
        self._per_host_limit = per_host_limit
        # One small pool per host and trust level, not one big pool: httpcore scans every
        # connection of a pool on each request, so a pool of many connections costs CPU per
        # request that grows with its size (measured in docs/benchmarks.md).
        self._clients: dict[tuple[str, bool], httpx.AsyncClient] = {}
        self._shared: httpx.AsyncClient | None = None
        self._ssl_context: ssl.SSLContext | None = None
        if transport is not None:
            self._shared = self._client(transport)

    def _client(self, pool: httpx.AsyncBaseTransport) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=pool,
            timeout=self._timeout,
            headers=self._headers,
            follow_redirects=False,
            trust_env=False,
        )

    def _client_for(self, url: str, trusted: bool) -> httpx.AsyncClient:
        if self._shared is not None:
            return self._shared
        key = (host_key(url), trusted)
        client = self._clients.get(key)
        if client is None:
            if self._ssl_context is None:
                # One TLS context for every pool: loading the CA bundle is the costly part.
                self._ssl_context = httpx.create_ssl_context(trust_env=False)
            limits = httpx.Limits(
                max_connections=self._per_host_limit,
                max_keepalive_connections=self._per_host_limit,
                keepalive_expiry=KEEPALIVE_EXPIRY_S,
            )
            pool: httpx.AsyncBaseTransport
            if trusted:
                pool = httpx.AsyncHTTPTransport(
                    verify=self._ssl_context, limits=limits, trust_env=False
                )
            else:
                pool = GuardedTransport(
                    limits=limits, resolver=self._resolver, ssl_context=self._ssl_context
                )
            client = self._clients[key] = self._client(pool)
        return client

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        clients = [*self._clients.values(), *([self._shared] if self._shared else [])]
        self._clients.clear()
        for client in clients:
            await client.aclose()

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        trusted: bool = True,
    ) -> FetchResult:
        """GET `url` (conditionally when etag/last_modified are given). Never raises: every
        failure is a classified `FetchResult.error`. Untrusted URLs reach public hosts only."""
        started = time.monotonic()
        chain = _Chain(start=url, url=url)
        try:
            async with self._hosts.hold(host_key(url)), self._global:
                started = time.monotonic()
                async with asyncio.timeout(self._total_timeout_s):
                    return await self._walk(chain, etag, last_modified, trusted, started)
        except FetchError as exc:
            error: FetchError = exc
        except (TimeoutError, httpx.TimeoutException):
            error = FetchTimeout(f"no complete response within {self._total_timeout_s:g} s")
        except UnsafeAddress as exc:
            error = BlockedAddress(f"blocked: {exc}")
        except (httpx.InvalidURL, UnicodeError) as exc:  # UnicodeError: a bad IDNA host name
            error = InvalidURL(f"cannot fetch {url[:100]!r}: {exc}")
        except httpx.HTTPError as exc:
            error = ConnectionFailed(f"{type(exc).__name__}: {exc}"[:200])
        except Exception as exc:  # a bad source must never stop the polling of the others
            logger.exception("unexpected error fetching %s", url)
            error = FetchError(f"unexpected {type(exc).__name__}: {exc}"[:200])
        return FetchResult(
            url=url,
            final_url=chain.url,
            status=None,
            body=None,
            permanent_redirect_to=chain.permanent_to,
            error=error,
            elapsed_s=time.monotonic() - started,
        )

    async def _walk(
        self,
        chain: _Chain,
        etag: str | None,
        last_modified: str | None,
        trusted: bool,
        started: float,
    ) -> FetchResult:
        """Follow up to MAX_REDIRECTS redirects by hand, so each hop is checked and reported."""
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        for _hop in range(MAX_REDIRECTS + 1):
            _check_hop(chain.url, trusted)
            chain.visited.add(chain.url)
            client = self._client_for(chain.url, trusted)
            request = client.build_request("GET", chain.url, headers=headers)
            response = await client.send(request, stream=True)
            if chain.candidate == chain.url:
                # The hop to it passed every check (address, scheme, connection): trust it.
                chain.permanent_to, chain.candidate = chain.candidate, None
            try:
                location = response.headers.get("location")
                if response.status_code in REDIRECT_STATUSES and location:
                    _follow(chain, response.status_code, location)
                    await _discard_body(response)
                    continue
                return await self._result(response, chain, started)
            finally:
                await response.aclose()
        raise TooManyRedirects(f"more than {MAX_REDIRECTS} redirects")

    async def _result(self, response: httpx.Response, chain: _Chain, started: float) -> FetchResult:
        status = response.status_code
        headers = response.headers
        retry_after_s = None
        if status in RETRY_AFTER_STATUSES:
            retry_after_s = parse_retry_after(headers.get("retry-after"))
        body = None
        error = None
        if 200 <= status < 300:
            body = await self._read_body(response)
        else:
            await _discard_body(response)
            if status != 304:
                error = _status_error(status, response.reason_phrase, retry_after_s)
        return FetchResult(
            url=chain.start,
            final_url=chain.url,
            status=status,
            body=body,
            etag=headers.get("etag"),
            last_modified=headers.get("last-modified"),
            content_type=headers.get("content-type"),
            not_modified=status == 304,
            permanent_redirect_to=chain.permanent_to,
            retry_after_s=retry_after_s,
            max_age_s=parse_max_age(headers.get("cache-control")),
            error=error,
            elapsed_s=time.monotonic() - started,
        )

    async def _read_body(self, response: httpx.Response) -> bytes:
        """Stream the body, decoding gzip/deflate as it comes, and stop at max_body_bytes of
        decoded bytes: neither a huge body nor a compression bomb is ever held whole."""
        limit = self._max_body_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise BodyTooLarge(f"body of {int(declared)} bytes exceeds {limit} bytes")
        decoder = _decoder(response.headers.get("content-encoding", ""))
        chunks: list[bytes] = []
        size = 0
        async for raw in response.aiter_raw(READ_CHUNK_BYTES):
            for piece in decoder.feed(raw) if decoder else (raw,):
                size += len(piece)
                if size > limit:
                    inflated = " once decompressed" if decoder else ""
                    raise BodyTooLarge(f"body exceeds {limit} bytes{inflated}")
                chunks.append(piece)
        return b"".join(chunks)


async def _discard_body(response: httpx.Response) -> None:
    """Read a body nobody needs, so that httpcore sees the response end and keeps the
    connection (closing a response mid-body closes its connection)."""
    if response.is_stream_consumed:  # a response made in memory (a test transport)
        return
    read = 0
    async for raw in response.aiter_raw(READ_CHUNK_BYTES):
        read += len(raw)
        if read > MAX_DISCARDED_BYTES:
            return


def host_key(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:  # malformed; _check_hop reports it
        return ""


def _check_hop(url: str, trusted: bool) -> None:
    """Refuse non-http(s) URLs always, and literal non-public addresses for untrusted sources
    (host names are checked when the guarded pool connects)."""
    try:
        host, _port = check_url_syntax(url)
    except UnsafeAddress as exc:
        raise InvalidURL(f"cannot fetch {url[:100]!r}: {exc}") from exc
    literal = literal_address(host.strip("[]"))  # None for a host name
    if not trusted and literal is not None:
        check_ip(literal)


def _follow(chain: _Chain, status: int, location: str) -> None:
    target = urljoin(chain.url, location.strip())
    if target in chain.visited:
        raise TooManyRedirects(f"redirect loop back to {target}")
    if chain.only_permanent and status in PERMANENT_REDIRECT_STATUSES:
        chain.candidate = target
    else:
        chain.only_permanent = False
        chain.candidate = None
    chain.url = target
