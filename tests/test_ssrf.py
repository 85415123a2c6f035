"""SSRF checks on literal addresses and through a fake resolver (no DNS, no network)."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpcore
import httpx
import pytest

from bot.domain.ssrf import (
    GuardedBackend,
    GuardedTransport,
    UnsafeAddress,
    block_reason,
    check_url,
    check_url_syntax,
    resolve_public,
    system_resolver,
)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback address"),
        ("127.8.9.10", "loopback address"),
        ("::1", "loopback address"),
        ("10.1.2.3", "private address"),
        ("172.16.0.1", "private address"),
        ("192.168.1.1", "private address"),
        ("fc00::1", "private address"),
        ("169.254.1.1", "link-local address"),
        ("fe80::1", "link-local address"),
        ("224.0.0.1", "multicast address"),
        ("ff02::1", "multicast address"),
        ("0.0.0.0", "unspecified address"),  # noqa: S104 a refused address under test, never bound
        ("::", "unspecified address"),
        ("100.64.0.1", "CGNAT address"),
        ("100.127.255.254", "CGNAT address"),
        ("240.0.0.1", "reserved address"),
        ("255.255.255.255", "reserved address"),
        ("192.0.2.1", "private address"),
        ("169.254.169.254", "cloud metadata address"),
        ("fd00:ec2::254", "cloud metadata address"),
        ("::ffff:127.0.0.1", "IPv6 wrapping a loopback address"),
        ("::ffff:169.254.169.254", "IPv6 wrapping a cloud metadata address"),
        ("::ffff:10.0.0.1", "IPv6 wrapping a private address"),
        ("64:ff9b::a00:1", "IPv6 wrapping a private address"),
        ("2002:7f00:1::", "IPv6 wrapping a loopback address"),
        ("fec0::1", "site-local"),
    ],
)
def test_non_public_addresses_are_blocked(address: str, reason: str) -> None:
    assert block_reason(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8", "100.128.0.1"]
)
def test_public_addresses_even_ipv4_mapped_or_just_past_cgnat_are_not_blocked(address: str) -> None:
    assert block_reason(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/passwd", "scheme 'file' is not allowed"),
        ("gopher://x.test/", "scheme 'gopher' is not allowed"),
        ("example.com/feed", "scheme '(none)' is not allowed"),
        ("http:///path", "URL has no host"),
        ("http://x.test:99999/", "bad port in 'http://x.test:99999/'"),
    ],
)
def test_a_url_without_http_a_host_or_a_valid_port_is_refused_saying_why(
    url: str, message: str
) -> None:
    with pytest.raises(UnsafeAddress) as caught:
        check_url_syntax(url)
    assert str(caught.value) == message


def test_url_syntax_defaults_ports() -> None:
    assert check_url_syntax("https://News.Test/feed") == ("news.test", 443)
    assert check_url_syntax("http://[::1]:8080/") == ("::1", 8080)


class FakeResolver:
    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.calls: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        if host not in self.table:
            raise OSError("Name or service not known")
        return self.table[host]


RESOLVER = FakeResolver(
    {
        "news.test": ["93.184.216.34", "2606:4700:4700::1111"],
        "mixed.test": ["93.184.216.34", "192.168.0.10"],
        "metadata.test": ["169.254.169.254"],
        "empty.test": [],
    }
)


async def test_a_host_whose_every_address_is_public_passes() -> None:
    addresses = await resolve_public("news.test", 443, RESOLVER)
    assert [str(address) for address in addresses] == ["93.184.216.34", "2606:4700:4700::1111"]
    await check_url("https://news.test/rss", RESOLVER)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://mixed.test/", "mixed.test resolves to a private address 192.168.0.10"),
        (
            "http://metadata.test/",
            "metadata.test resolves to a cloud metadata address 169.254.169.254",
        ),
        ("http://empty.test/", "empty.test resolves to no address"),
        ("http://nowhere.test/", "cannot resolve nowhere.test: Name or service not known"),
        ("http://127.0.0.1:8080/", "loopback address 127.0.0.1"),
        ("http://[::ffff:7f00:1]/", "IPv6 wrapping a loopback address ::ffff:7f00:1"),
    ],
)
async def test_a_url_is_refused_naming_its_blocked_address_or_why_it_did_not_resolve(
    url: str, message: str
) -> None:
    with pytest.raises(UnsafeAddress) as caught:
        await check_url(url, RESOLVER)
    assert str(caught.value) == message


async def test_literal_addresses_skip_the_resolver() -> None:
    resolver = FakeResolver({})
    await check_url("http://8.8.8.8/feed", resolver)
    assert resolver.calls == []


async def test_rebinding_is_caught_at_connect_time() -> None:
    """The name resolved to a public address at first, then to loopback: the connect-time
    resolution is the one that counts, and nothing is connected."""
    answers = [["93.184.216.34"], ["127.0.0.1"]]

    async def rebinding(host: str, port: int) -> list[str]:
        return answers.pop(0)

    await check_url("http://rebind.test/", rebinding)
    backend = GuardedBackend(rebinding)
    with pytest.raises(
        UnsafeAddress, match=r"rebind\.test resolves to a loopback address 127\.0\.0\.1"
    ):
        await backend.connect_tcp("rebind.test", 80)


def test_every_address_that_is_not_global_is_also_caught_by_a_named_check() -> None:
    """The last check ("non-global address") catches what a newer Python's `is_global`
    excludes beyond the named ranges; on this one each non-global address is named first."""
    for address in (
        "100.64.0.0",
        "192.0.0.170",
        "2001::1",
        "2001:db8::1",
        "100::1",
        "64:ff9b:1::1",
    ):
        reason = block_reason(ipaddress.ip_address(address))
        assert reason is not None and reason != "non-global address", address


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("fe80::1%eth0", "link-local address fe80::1"),
        ("fe80::1%eth0%x", "link-local address fe80::1"),  # everything from the first %
    ],
)
async def test_a_scoped_ipv6_answer_is_checked_and_named_without_its_zone(
    address: str, message: str
) -> None:
    with pytest.raises(UnsafeAddress) as caught:
        await resolve_public("scoped.test", 80, FakeResolver({"scoped.test": [address]}))
    assert str(caught.value) == f"scoped.test resolves to a {message}"


def test_a_url_that_cannot_be_split_is_refused_as_malformed() -> None:
    with pytest.raises(UnsafeAddress) as caught:
        check_url_syntax("http://[::1/feed")
    assert str(caught.value) == "malformed URL: Invalid IPv6 URL"


def test_plain_http_defaults_to_port_80() -> None:
    assert check_url_syntax("http://news.test/feed") == ("news.test", 80)
    assert check_url_syntax("HTTP://news.test:8443/") == ("news.test", 8443)


async def test_a_bracketed_address_literal_is_checked_without_the_resolver() -> None:
    resolver = FakeResolver({})
    addresses = await resolve_public("[2606:4700:4700::1111]", 443, resolver)
    assert addresses == [ipaddress.ip_address("2606:4700:4700::1111")]
    assert resolver.calls == []
    with pytest.raises(UnsafeAddress, match=r"^loopback address ::1$"):
        await resolve_public("[::1]", 443, resolver)


@pytest.mark.parametrize(
    "host",
    [
        "[fe80::1%eth0]",
        "fe80::1%eth0",
        "[fe80::1%eth0%x]",  # everything from the first %
    ],
)
async def test_a_scoped_address_literal_is_checked_and_named_without_its_zone(host: str) -> None:
    resolver = FakeResolver({})
    with pytest.raises(UnsafeAddress) as caught:
        await resolve_public(host, 80, resolver)
    assert str(caught.value) == "link-local address fe80::1"
    assert resolver.calls == []


async def test_a_name_with_an_address_inside_is_resolved_not_read_as_that_address() -> None:
    """Only the brackets around a literal are stripped before it is read as an address."""
    resolver = FakeResolver({"X127.0.0.1": ["93.184.216.34"]})
    addresses = await resolve_public("X127.0.0.1", 80, resolver)
    assert addresses == [ipaddress.ip_address("93.184.216.34")]
    assert resolver.calls == [("X127.0.0.1", 80)]


async def test_the_resolver_is_asked_for_the_urls_port() -> None:
    resolver = FakeResolver({"news.test": ["93.184.216.34"]})
    await check_url("https://news.test/rss", resolver)
    await check_url("http://news.test:8080/rss", resolver)
    assert resolver.calls == [("news.test", 443), ("news.test", 8080)]


class RecordingBackend(httpcore.AsyncNetworkBackend):
    """An inner backend that records what the guard asks of it and connects nowhere."""

    def __init__(self) -> None:
        self.connects: list[tuple[Any, ...]] = []
        self.sleeps: list[float] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connects.append((host, port, timeout, local_address, socket_options))
        raise httpcore.ConnectError("recorded, not connected")

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


async def test_the_guard_connects_to_the_first_checked_address_with_every_option() -> None:
    resolver = FakeResolver({"news.test": ["93.184.216.34", "2606:4700:4700::1111"]})
    inner = RecordingBackend()
    options = [(6, 1, 1)]  # TCP_NODELAY
    with pytest.raises(httpcore.ConnectError):
        await GuardedBackend(resolver, inner).connect_tcp(
            "news.test",
            443,
            timeout=5.0,
            local_address="192.0.2.7",
            socket_options=options,
        )
    assert resolver.calls == [("news.test", 443)]
    assert inner.connects == [("93.184.216.34", 443, 5.0, "192.0.2.7", options)]


async def test_the_guard_connects_to_a_public_scoped_literal_without_its_zone() -> None:
    inner = RecordingBackend()
    with pytest.raises(httpcore.ConnectError):
        await GuardedBackend(FakeResolver({}), inner).connect_tcp("2606:4700:4700::1111%eth0", 443)
    assert [connect[:2] for connect in inner.connects] == [("2606:4700:4700::1111", 443)]


async def test_the_guard_sleeps_through_its_inner_backend_or_anyio_by_default() -> None:
    inner = RecordingBackend()
    await GuardedBackend(RESOLVER, inner).sleep(0.25)
    assert inner.sleeps == [0.25]
    await GuardedBackend(RESOLVER).sleep(0)  # no inner backend given: anyio's, which works


async def test_unix_sockets_are_refused_with_that_reason() -> None:
    with pytest.raises(UnsafeAddress, match=r"^unix sockets are not allowed$"):
        await GuardedBackend(RESOLVER).connect_unix_socket("/var/run/docker.sock")


async def test_the_system_resolver_answers_tcp_addresses_once_each() -> None:
    """A literal needs no DNS; without the TCP filter getaddrinfo would list it per socket type."""
    assert await system_resolver("127.0.0.1", 80) == ["127.0.0.1"]


async def test_the_system_resolver_asks_getaddrinfo_for_the_host_port_and_tcp_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[tuple[Any, ...]] = []

    def getaddrinfo(host: str, port: int, family: int, kind: int, *rest: int) -> list[Any]:
        asked.append((host, port, kind))
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2606:4700:4700::1111", port, 0, 0)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    assert await system_resolver("news.test", 8443) == ["93.184.216.34", "2606:4700:4700::1111"]
    assert asked == [("news.test", 8443, socket.SOCK_STREAM)]


async def test_a_guarded_transport_sends_every_connection_through_the_guard() -> None:
    transport = GuardedTransport(resolver=RESOLVER)
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(UnsafeAddress, match=r"^metadata\.test resolves to a cloud metadata"):
            await client.get("http://metadata.test/latest/meta-data/")
        with pytest.raises(UnsafeAddress, match=r"^loopback address 127\.0\.0\.1$"):
            await client.get("http://127.0.0.1:8080/")


def test_a_guarded_transports_pool_keeps_the_given_limits_and_tls_context() -> None:
    """httpx has no public hook for the network backend, so the guard replaces the pool; the
    replacement must keep what was asked for (read from httpcore's pool attributes)."""
    context = ssl.create_default_context()
    limits = httpx.Limits(max_connections=7, max_keepalive_connections=3, keepalive_expiry=9.0)
    pool = GuardedTransport(resolver=RESOLVER, limits=limits, ssl_context=context)._pool
    assert (pool._max_connections, pool._max_keepalive_connections) == (7, 3)
    assert pool._keepalive_expiry == 9.0
    assert pool._ssl_context is context
    assert isinstance(pool._network_backend, GuardedBackend)
    default = GuardedTransport(resolver=RESOLVER)._pool
    unset = httpx.Limits()  # no bound on connections, five seconds of keep-alive
    assert default._max_connections == default._max_keepalive_connections == sys.maxsize
    assert default._keepalive_expiry == unset.keepalive_expiry == 5.0
    assert isinstance(default._ssl_context, ssl.SSLContext)


def test_a_guarded_transport_ignores_certificate_settings_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Trust comes from the bundled roots only: SSL_CERT_FILE cannot swap them (or break them)."""
    bogus = tmp_path / "roots.pem"
    bogus.write_text("not a certificate")
    monkeypatch.setenv("SSL_CERT_FILE", str(bogus))
    GuardedTransport(resolver=RESOLVER)  # reading the bogus file would raise


async def test_a_guarded_transport_connects_through_the_given_inner_backend() -> None:
    inner = RecordingBackend()
    transport = GuardedTransport(resolver=RESOLVER, inner=inner)
    backend = transport._pool._network_backend
    # Checked before any request, so that a transport ignoring `inner` never reaches the network.
    assert isinstance(backend, GuardedBackend)
    assert backend._inner is inner
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get("http://news.test:8080/rss")
    assert [connect[:2] for connect in inner.connects] == [("93.184.216.34", 8080)]
