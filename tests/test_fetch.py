"""Fetcher behaviour against a misbehaving local server: every fault is a classified result."""

from __future__ import annotations

import asyncio
import random
import socket
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import httpx
import pytest

from bot.domain.ssrf import GuardedTransport
from jobs.sources.fetch import (
    BlockedAddress,
    BodyTooLarge,
    ConnectionFailed,
    Fetcher,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    InvalidURL,
    TooManyRedirects,
    jitter_s,
    parse_max_age,
    parse_retry_after,
)
from tests.helpers import TIME_SCALE, LoopbackBackend, table_resolver
from tests.sources_server import (
    ETAG,
    FEED_XML,
    LAST_MODIFIED,
    MALFORMED_XML,
    MAX_AGE_S,
    RETRY_AFTER_S,
    TRUNCATED_XML,
    SourcesServer,
)

TEST_TIMEOUT_S = 0.3 * TIME_SCALE
TEST_MAX_BODY_BYTES = 1_000_000
# Python allocations allowed while refusing a 50 MB body capped at 1 MB.
MEMORY_BOUND_BYTES = 6_000_000


@pytest.fixture(scope="module")
def server() -> Iterator[SourcesServer]:
    with SourcesServer() as running:
        yield running


@pytest.fixture
async def fetcher(server: SourcesServer) -> AsyncIterator[Fetcher]:
    server.reset()
    async with Fetcher(
        connect_timeout_s=TEST_TIMEOUT_S,
        total_timeout_s=TEST_TIMEOUT_S,
        max_body_bytes=TEST_MAX_BODY_BYTES,
    ) as instance:
        yield instance


async def test_ok_reports_body_and_cache_facts(server: SourcesServer, fetcher: Fetcher) -> None:
    result = await fetcher.fetch(server.url("/feed.xml"))
    assert result.error is None and result.ok
    assert (result.status, result.body, result.not_modified) == (200, FEED_XML, False)
    assert (result.etag, result.last_modified, result.max_age_s) == (ETAG, LAST_MODIFIED, 300.0)
    assert result.max_age_s == MAX_AGE_S
    assert result.content_type == "application/rss+xml; charset=utf-8"
    assert result.final_url == result.url == server.url("/feed.xml")
    assert result.permanent_redirect_to is None
    headers = server.requests[-1][1]
    assert headers["User-Agent"].startswith("Herald/")
    assert headers["Accept-Encoding"] == "gzip, deflate"


@pytest.mark.parametrize(
    ("etag", "last_modified"), [(ETAG, None), (None, LAST_MODIFIED), (ETAG, LAST_MODIFIED)]
)
async def test_conditional_request_gives_not_modified(
    server: SourcesServer, fetcher: Fetcher, etag: str | None, last_modified: str | None
) -> None:
    result = await fetcher.fetch(server.url("/feed.xml"), etag=etag, last_modified=last_modified)
    assert (result.status, result.not_modified, result.body, result.error) == (
        304,
        True,
        None,
        None,
    )
    assert result.etag == ETAG


async def test_one_connection_serves_every_kind_of_response(
    server: SourcesServer, fetcher: Fetcher
) -> None:
    """A 304, an error page or a redirect leaves the connection reusable: polling a source
    must not cost a new connection (a TLS handshake, in real life) every time."""
    for path, etag in [
        ("/feed.xml", None),
        ("/feed.xml", ETAG),
        ("/status/500", None),
        ("/temp", None),
        ("/status/404", None),
        ("/feed.xml", ETAG),
    ]:
        await fetcher.fetch(server.url(path), etag=etag)
    assert len(server.requests) == 7  # /temp redirected to /feed.xml
    assert len(set(server.peers)) == 1


@pytest.mark.parametrize("path", ["/feed.gz", "/feed.deflate"])
async def test_compressed_bodies_are_decoded(
    server: SourcesServer, fetcher: Fetcher, path: str
) -> None:
    result = await fetcher.fetch(server.url(path))
    assert (result.error, result.body) == (None, FEED_XML)


@pytest.mark.parametrize(
    ("path", "error_type", "status", "message"),
    [
        (
            "/slow-headers?s=3",
            FetchTimeout,
            None,
            f"no complete response within {TEST_TIMEOUT_S:g} s",
        ),
        ("/drip", FetchTimeout, None, f"no complete response within {TEST_TIMEOUT_S:g} s"),
        ("/status/500", HTTPStatusError, 500, "HTTP 500 Internal Server Error"),
        ("/status/404", HTTPStatusError, 404, "HTTP 404 Not Found"),
        ("/status/429", HTTPStatusError, 429, "HTTP 429 Too Many Requests (retry after 120 s)"),
        ("/big-declared", BodyTooLarge, None, "body of 50000000 bytes exceeds 1000000 bytes"),
        ("/big-undeclared", BodyTooLarge, None, "body exceeds 1000000 bytes"),
        ("/gzip-bomb", BodyTooLarge, None, "body exceeds 1000000 bytes once decompressed"),
        ("/loop", TooManyRedirects, None, "redirect loop back to {base}/loop"),
        ("/loop-a", TooManyRedirects, None, "redirect loop back to {base}/loop-a"),
        ("/redirects?n=6", TooManyRedirects, None, "more than 5 redirects"),
        (
            "/to-file",
            InvalidURL,
            None,
            "cannot fetch 'file:///etc/passwd': scheme 'file' is not allowed",
        ),
    ],
)
async def test_faults_are_classified_errors(
    server: SourcesServer,
    fetcher: Fetcher,
    path: str,
    error_type: type[FetchError],
    status: int | None,
    message: str,
) -> None:
    result = await fetcher.fetch(server.url(path))
    assert type(result.error) is error_type
    assert result.error.message == message.format(base=server.url(""))
    assert result.status == status
    assert result.body is None
    assert result.elapsed_s < TEST_TIMEOUT_S * 3


async def test_slow_drip_is_cut_by_the_total_timeout(
    server: SourcesServer, fetcher: Fetcher
) -> None:
    result = await fetcher.fetch(server.url("/drip"))
    assert isinstance(result.error, FetchTimeout)
    assert TEST_TIMEOUT_S <= result.elapsed_s < TEST_TIMEOUT_S * 3


async def test_retry_after_as_seconds_and_as_date(server: SourcesServer, fetcher: Fetcher) -> None:
    assert (await fetcher.fetch(server.url("/status/429"))).retry_after_s == RETRY_AFTER_S
    by_date = await fetcher.fetch(server.url("/status/503"))
    assert isinstance(by_date.error, HTTPStatusError) and by_date.error.status == 503
    assert by_date.retry_after_s is not None
    assert RETRY_AFTER_S - 5 <= by_date.retry_after_s <= RETRY_AFTER_S


@pytest.mark.parametrize("path", ["/big-undeclared", "/gzip-bomb"])
async def test_an_undeclared_huge_body_or_gzip_bomb_is_cut_off_as_too_large_in_bounded_memory(
    server: SourcesServer, fetcher: Fetcher, path: str
) -> None:
    tracemalloc.start()
    try:
        result = await fetcher.fetch(server.url(path))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(result.error, BodyTooLarge)
    assert peak < MEMORY_BOUND_BYTES


async def test_redirects_are_followed_and_classified(
    server: SourcesServer, fetcher: Fetcher
) -> None:
    permanent = await fetcher.fetch(server.url("/moved"))
    assert (permanent.body, permanent.error) == (FEED_XML, None)
    assert permanent.permanent_redirect_to == permanent.final_url == server.url("/feed.xml")
    assert permanent.url == server.url("/moved")
    mixed = await fetcher.fetch(server.url("/moved-then-temp"))
    assert mixed.permanent_redirect_to == server.url("/temp")
    assert mixed.final_url == server.url("/feed.xml")
    temporary = await fetcher.fetch(server.url("/redirects?n=5"))
    assert (temporary.status, temporary.permanent_redirect_to) == (200, None)


@pytest.mark.parametrize(
    ("path", "body"),
    [("/malformed", MALFORMED_XML), ("/truncated", TRUNCATED_XML)],
)
async def test_broken_xml_is_fetched_as_is(
    server: SourcesServer, fetcher: Fetcher, path: str, body: bytes
) -> None:
    result = await fetcher.fetch(server.url(path))
    assert (result.error, result.body) == (None, body)


async def test_a_refused_connection_is_classified_as_connection_failed(fetcher: Fetcher) -> None:
    with socket.socket() as probe:  # bound, never listening: refused, and no one else's port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        result = await fetcher.fetch(f"http://127.0.0.1:{port}/feed.xml")
    assert isinstance(result.error, ConnectionFailed)
    assert result.error.message.startswith("ConnectError")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://[invalid/", "cannot fetch 'http://[invalid/': malformed URL: Invalid IPv6 URL"),
        (
            "http://x.test/\x00",
            "cannot fetch 'http://x.test/\\x00': "
            "Invalid non-printable ASCII character in URL, '\\x00' at position 14.",
        ),
        (
            "http://xn--/",
            "cannot fetch 'http://xn--/': Malformed A-label, no Punycode eligible content found",
        ),
    ],
)
async def test_invalid_urls_are_classified(fetcher: Fetcher, url: str, message: str) -> None:
    result = await fetcher.fetch(url)
    assert isinstance(result.error, InvalidURL)
    assert result.error.message == message


async def test_unexpected_exceptions_do_not_escape() -> None:
    def explode(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("boom")

    async with Fetcher(transport=httpx.MockTransport(explode)) as fetcher:
        result = await fetcher.fetch("https://news.example/feed")
    assert type(result.error) is FetchError
    assert result.error.message == "unexpected RuntimeError: boom"


async def test_concurrent_fetches_reach_but_never_exceed_the_per_host_or_global_limit(
    server: SourcesServer,
) -> None:
    urls = [server.url(f"/slow-headers?s=0.1&count=1&n={n}") for n in range(5)]
    for max_concurrency, per_host, expected in [(8, 2, 2), (1, 4, 1)]:
        server.reset()
        async with Fetcher(max_concurrency=max_concurrency, per_host_limit=per_host) as fetcher:
            results = await asyncio.gather(*(fetcher.fetch(url) for url in urls))
        assert [result.status for result in results] == [200] * 5
        assert server.max_active == expected


# --- untrusted sources ---------------------------------------------------------------------


async def test_untrusted_loopback_literal_is_blocked_before_any_request(
    server: SourcesServer, fetcher: Fetcher
) -> None:
    result = await fetcher.fetch(server.url("/feed.xml"), trusted=False)
    assert isinstance(result.error, BlockedAddress)
    assert result.error.message == "blocked: loopback address 127.0.0.1"
    assert server.requests == []


@pytest.mark.parametrize(
    ("addresses", "message"),
    [
        (["127.0.0.1"], "blocked: local.test resolves to a loopback address 127.0.0.1"),
        (
            ["93.184.216.34", "10.0.0.5"],
            "blocked: local.test resolves to a private address 10.0.0.5",
        ),
        (
            ["169.254.169.254"],
            "blocked: local.test resolves to a cloud metadata address 169.254.169.254",
        ),
    ],
)
async def test_untrusted_names_are_checked_at_connect_time(
    server: SourcesServer, addresses: list[str], message: str
) -> None:
    server.reset()
    port = server.url("").rsplit(":", 1)[1]
    async with Fetcher(resolver=table_resolver({"local.test": addresses})) as fetcher:
        result = await fetcher.fetch(f"http://local.test:{port}/feed.xml", trusted=False)
    assert isinstance(result.error, BlockedAddress)
    assert result.error.message == message
    assert server.requests == []


async def test_untrusted_public_name_connects_to_the_pinned_address(server: SourcesServer) -> None:
    server.reset()
    port = server.url("").rsplit(":", 1)[1]
    backend = LoopbackBackend()
    guard = GuardedTransport(resolver=table_resolver({"public.test": ["8.8.8.8"]}), inner=backend)
    async with Fetcher(transport=guard) as fetcher:
        result = await fetcher.fetch(f"http://public.test:{port}/feed.xml", trusted=False)
    assert (result.status, result.body) == (200, FEED_XML)
    assert backend.pinned == ["8.8.8.8"]
    assert server.requests[0][1]["Host"] == f"public.test:{port}"


async def test_untrusted_redirect_to_metadata_is_blocked() -> None:
    seen: list[str] = []

    def respond(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(302, headers={"Location": "http://169.254.169.254/latest/meta-data"})

    async with Fetcher(transport=httpx.MockTransport(respond)) as fetcher:
        result = await fetcher.fetch("https://news.example/feed", trusted=False)
        trusted = await fetcher.fetch("https://news.example/feed", trusted=True)
    assert isinstance(result.error, BlockedAddress)
    assert result.error.message == "blocked: cloud metadata address 169.254.169.254"
    assert result.final_url == "http://169.254.169.254/latest/meta-data"
    assert seen[0] == "https://news.example/feed"
    assert isinstance(trusted.error, TooManyRedirects)  # trusted: followed to the (mock) address
    assert trusted.error.message == "redirect loop back to http://169.254.169.254/latest/meta-data"


# --- pure helpers --------------------------------------------------------------------------


def test_parse_retry_after_reads_seconds_or_a_date_clamps_the_past_to_zero_and_rejects_junk() -> (
    None
):
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after("Mon, 01 Jun 2026 12:01:30 GMT", now) == 90.0
    assert parse_retry_after("Mon, 01 Jun 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_parse_max_age_reads_max_age_even_quoted_and_ignores_s_maxage() -> None:
    assert parse_max_age("public, max-age=300") == 300.0
    assert parse_max_age('max-age="60", must-revalidate') == 60.0
    assert parse_max_age("s-maxage=10, no-cache") is None
    assert parse_max_age(None) is None


def test_jitter_spreads_over_a_tenth_of_the_period_and_follows_its_generator() -> None:
    rng = random.Random(7)
    values = [jitter_s(600, rng=rng) for _ in range(500)]
    assert all(0 <= v < 60 for v in values)
    assert min(values) < 6 and max(values) > 54  # spread over the whole tenth, not a point
    assert len(set(values)) == 500
    again = random.Random(7)
    assert [jitter_s(600, rng=again) for _ in range(500)] == values  # seeded: reproducible
    assert max(jitter_s(600, fraction=0.5, rng=rng) for _ in range(200)) > 60
    assert jitter_s(600, fraction=0.0) == 0.0
    assert jitter_s(-5, rng=rng) == 0.0


async def test_a_blocked_permanent_redirect_is_not_recorded() -> None:
    """A 301 to loopback is refused, and the stored URL must not become the loopback one."""

    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(301, headers={"Location": "http://127.0.0.1:9/admin.xml"})

    async with Fetcher(transport=httpx.MockTransport(respond)) as fetcher:
        result = await fetcher.fetch("https://news.example/feed", trusted=False)
    assert isinstance(result.error, BlockedAddress)
    assert result.permanent_redirect_to is None
