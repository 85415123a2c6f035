"""Address checks for untrusted source URLs: only public hosts, checked again at connect time."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# A resolver maps (host, port) to the IP address strings it resolves to.
Resolver = Callable[[str, int], Awaitable[list[str]]]

ALLOWED_SCHEMES = frozenset({"http", "https"})
METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
CGNAT_NETWORK = ipaddress.ip_network("100.64.0.0/10")
# Prefixes that embed an IPv4 address an attacker could choose (NAT64, 6to4).
NAT64_NETWORK = ipaddress.ip_network("64:ff9b::/96")
SIX_TO_FOUR_NETWORK = ipaddress.ip_network("2002::/16")


class UnsafeAddress(Exception):
    """A URL or address an untrusted source may not reach; the message says why."""


def block_reason(address: IPAddress) -> str | None:
    """Why `address` is not a public unicast address, or None when it is."""
    if address in METADATA_ADDRESSES:
        return "cloud metadata address"
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            reason = block_reason(embedded)
            return f"IPv6 wrapping a {reason}" if reason else None
    checks = (
        (address.is_unspecified, "unspecified address"),
        (address.is_loopback, "loopback address"),
        (address.is_link_local, "link-local address"),
        (address.is_multicast, "multicast address"),
        (isinstance(address, ipaddress.IPv4Address) and address in CGNAT_NETWORK, "CGNAT address"),
        (address.is_reserved, "reserved address"),
        (address.is_private, "private address"),
        (isinstance(address, ipaddress.IPv6Address) and address.is_site_local, "site-local"),
        (not address.is_global, "non-global address"),
    )
    return next((reason for failed, reason in checks if failed), None)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64_NETWORK:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in SIX_TO_FOUR_NETWORK:
        return address.sixtofour
    return None


def check_address(address: str) -> IPAddress:
    """Parse an IP literal and raise UnsafeAddress unless it is public."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    reason = block_reason(ip)
    if reason:
        raise UnsafeAddress(f"{reason} {ip}")
    return ip


def check_url_syntax(url: str) -> tuple[str, int]:
    """Return (host, port) of an http(s) URL, or raise UnsafeAddress."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise UnsafeAddress(f"malformed URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise UnsafeAddress(f"scheme {scheme or '(none)'!r} is not allowed")
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise UnsafeAddress(f"bad port in {url!r}") from exc
    if not host:
        raise UnsafeAddress("URL has no host")
    return host, port or (443 if scheme == "https" else 80)


async def system_resolver(host: str, port: int) -> list[str]:
    """Resolve with the operating system's resolver (getaddrinfo), TCP addresses only."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def resolve_public(host: str, port: int, resolver: Resolver) -> list[IPAddress]:
    """Every address `host` resolves to, if all are public; else raise UnsafeAddress.

    All must pass, not just one: the connection may pick any of them.
    """
    try:
        return [check_address(host.strip("[]"))]
    except ValueError:
        pass  # not a literal address: resolve it
    try:
        resolved = await resolver(host, port)
    except OSError as exc:
        raise UnsafeAddress(f"cannot resolve {host}: {exc}") from exc
    if not resolved:
        raise UnsafeAddress(f"{host} resolves to no address")
    try:
        return [check_address(address) for address in resolved]
    except UnsafeAddress as exc:
        raise UnsafeAddress(f"{host} resolves to a {exc}") from exc


async def check_url(url: str, resolver: Resolver = system_resolver) -> None:
    """Raise UnsafeAddress unless `url` is http(s) and its host resolves to public addresses."""
    host, port = check_url_syntax(url)
    await resolve_public(host, port, resolver)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolve, check and pin the address at connect time, so DNS rebinding cannot slip past.

    The host name is resolved here once and the connection goes to that checked IP literal;
    TLS still verifies the certificate against the original host name (httpcore passes it as
    server_hostname), so pinning does not weaken HTTPS.
    """

    def __init__(
        self, resolver: Resolver, inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self._resolver = resolver
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await resolve_public(host, port, self._resolver)
        return await self._inner.connect_tcp(
            str(addresses[0]), port, timeout, local_address, socket_options
        )

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise UnsafeAddress("unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """An httpx transport whose connection pool connects only through GuardedBackend."""

    def __init__(
        self,
        *,
        resolver: Resolver = system_resolver,
        limits: httpx.Limits | None = None,
        inner: httpcore.AsyncNetworkBackend | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        limits = limits or httpx.Limits()
        ssl_context = ssl_context or httpx.create_ssl_context(trust_env=False)
        super().__init__(verify=ssl_context, limits=limits, trust_env=False)
        # httpx has no public hook for a network backend, so the pool it built is replaced
        # by an identical one that connects through the guard.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(resolver, inner),
        )
