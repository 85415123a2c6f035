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

from bot.domain.text import N_, ReaderError

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


class UnsafeAddress(ReaderError):
    """A URL or address an untrusted source may not reach; the template and params say why.

    Not to be caught as a plain ValueError where a literal address is parsed: parse with
    `literal_address` first, then check with `check_ip`.
    """


def address_refusal(address: IPAddress) -> ReaderError | None:
    """Why `address` is not a public unicast address (a reader error), or None when it is."""
    if address in METADATA_ADDRESSES:
        return ReaderError(N_("cloud metadata address"))
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            reason = address_refusal(embedded)
            return ReaderError(N_("IPv6 wrapping a {reason}"), reason=reason) if reason else None
    checks = (
        (address.is_unspecified, N_("unspecified address")),
        (address.is_loopback, N_("loopback address")),
        (address.is_link_local, N_("link-local address")),
        (address.is_multicast, N_("multicast address")),
        (
            isinstance(address, ipaddress.IPv4Address) and address in CGNAT_NETWORK,
            N_("CGNAT address"),
        ),
        (address.is_reserved, N_("reserved address")),
        (address.is_private, N_("private address")),
        (isinstance(address, ipaddress.IPv6Address) and address.is_site_local, N_("site-local")),
        (not address.is_global, N_("non-global address")),
    )
    return next((ReaderError(reason) for failed, reason in checks if failed), None)


def block_reason(address: IPAddress) -> str | None:
    """Why `address` is not a public unicast address, in English, or None when it is."""
    refusal = address_refusal(address)
    return None if refusal is None else str(refusal)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64_NETWORK:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in SIX_TO_FOUR_NETWORK:
        return address.sixtofour
    return None


def literal_address(text: str) -> IPAddress | None:
    """The IP address `text` spells (a zone suffix such as %eth0 dropped), or None for a name."""
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


def check_ip(ip: IPAddress) -> IPAddress:
    """`ip` if it is public; else raise UnsafeAddress."""
    refusal = address_refusal(ip)
    if refusal is not None:
        raise UnsafeAddress(N_("{reason} {ip}"), reason=refusal, ip=str(ip))
    return ip


def check_address(address: str) -> IPAddress:
    """Parse an IP literal (ValueError if it is not one) and raise UnsafeAddress unless it is
    public."""
    return check_ip(ipaddress.ip_address(address.split("%", 1)[0]))


def check_url_syntax(url: str) -> tuple[str, int]:
    """Return (host, port) of an http(s) URL, or raise UnsafeAddress."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise UnsafeAddress(N_("malformed URL: {error}"), error=str(exc)) from exc
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise UnsafeAddress(N_("scheme {scheme} is not allowed"), scheme=repr(scheme or "(none)"))
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise UnsafeAddress(N_("bad port in {url}"), url=repr(url)) from exc
    if not host:
        raise UnsafeAddress(N_("URL has no host"))
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
    literal = literal_address(host.strip("[]"))
    if literal is not None:
        return [check_ip(literal)]
    try:
        resolved = await resolver(host, port)
    except OSError as exc:
        raise UnsafeAddress(
            N_("cannot resolve {host}: {error}"), host=host, error=str(exc)
        ) from exc
    if not resolved:
        raise UnsafeAddress(N_("{host} resolves to no address"), host=host)
    try:
        return [check_address(address) for address in resolved]
    except UnsafeAddress as exc:
        raise UnsafeAddress(N_("{host} resolves to a {reason}"), host=host, reason=exc) from exc


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

    # httpcore.AsyncNetworkBackend's signature: refused whatever the arguments.
    async def connect_unix_socket(
        self,
        path: str,  # noqa: ARG002
        timeout: float | None = None,  # noqa: ARG002
        socket_options: Iterable[Any] | None = None,  # noqa: ARG002
    ) -> httpcore.AsyncNetworkStream:
        raise UnsafeAddress(N_("unix sockets are not allowed"))

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
