"""SSRF checks on literal addresses and through a fake resolver (no DNS, no network)."""

from __future__ import annotations

import ipaddress

import pytest

from bot.domain.ssrf import (
    GuardedBackend,
    UnsafeAddress,
    block_reason,
    check_url,
    check_url_syntax,
    resolve_public,
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
def test_public_addresses_pass(address: str) -> None:
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
def test_url_syntax(url: str, message: str) -> None:
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


async def test_resolve_public_accepts_only_all_public() -> None:
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
async def test_check_url_rejects(url: str, message: str) -> None:
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


async def test_unix_sockets_are_refused() -> None:
    with pytest.raises(UnsafeAddress, match="unix sockets are not allowed"):
        await GuardedBackend(RESOLVER).connect_unix_socket("/var/run/docker.sock")
