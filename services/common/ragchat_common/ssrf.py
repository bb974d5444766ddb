"""SSRF guard for outgoing HTTP: what the platform fetches on behalf of its users.

Crawled pages and image URLs come from the outside, so a link or a redirect could point the
fetcher at the platform's own network (databases, the cloud metadata service, an admin port on
localhost). The guard refuses, unless allow-listed:

- schemes other than ``http`` and ``https``;
- any destination address that is loopback, private, link-local, multicast, reserved,
  unspecified, shared (carrier-grade NAT) or a cloud metadata endpoint, IPv4 and IPv6 alike,
  including IPv4 addresses embedded in IPv6 (IPv4-mapped, 6to4, Teredo, NAT64).

The check is made on the address actually connected to: :class:`GuardedNetworkBackend` resolves
the host once, validates every address, and connects to a validated address itself (TLS still
uses the host name for SNI and certificate checks, and the Host header is unchanged). A DNS
answer that changes between a check and the connection (rebinding) therefore cannot slip
through. Every request goes through the transport, so every redirect hop is checked again.

Use :func:`guarded_client` for an ``httpx.AsyncClient`` with the guard; it never uses proxies
from the environment, which would make the proxy, not the target, the address connected to.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]

ALLOWED_SCHEMES = frozenset({"http", "https"})

# Instance metadata services that are not covered by the link-local range (169.254.169.254 is).
CLOUD_METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean
        "169.254.170.2",  # AWS ECS task metadata
        "100.100.100.200",  # Alibaba Cloud
        "fd00:ec2::254",  # AWS over IPv6
    )
)
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class RefusalReason(StrEnum):
    """Why the guard refused a destination."""

    SCHEME = "scheme not allowed"
    CLOUD_METADATA = "cloud metadata address"
    UNSPECIFIED = "unspecified address"
    LOOPBACK = "loopback address"
    LINK_LOCAL = "link-local address"
    MULTICAST = "multicast address"
    PRIVATE = "private address"
    RESERVED = "reserved address"
    NOT_GLOBAL = "non-public address"


class SsrfRefused(Exception):
    """A fetch the SSRF guard refused before any byte was sent to the destination."""

    def __init__(self, target: str, reason: RefusalReason, address: str | None = None) -> None:
        self.target = target
        self.reason = reason
        self.address = address
        where = f" ({address})" if address and address != target else ""
        super().__init__(f"refused to fetch {target}{where}: {reason.value}")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo client, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal_reason(address: IPAddress) -> RefusalReason | None:
    """Why ``address`` must not be fetched from, or ``None`` when it is a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            reason = refusal_reason(embedded)
            if reason is not None:
                return reason
    checks: tuple[tuple[bool, RefusalReason], ...] = (
        (address in CLOUD_METADATA, RefusalReason.CLOUD_METADATA),
        (address.is_unspecified, RefusalReason.UNSPECIFIED),
        (address.is_loopback, RefusalReason.LOOPBACK),
        (address.is_link_local, RefusalReason.LINK_LOCAL),
        (address.is_multicast, RefusalReason.MULTICAST),
        (address.is_private, RefusalReason.PRIVATE),
        (address.is_reserved, RefusalReason.RESERVED),
        (not address.is_global, RefusalReason.NOT_GLOBAL),
    )
    return next((reason for hit, reason in checks if hit), None)


def _normalise_host(host: str) -> str:
    return host.strip("[]").rstrip(".").lower()


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(_normalise_host(host))
    except ValueError:
        return None


@dataclass(frozen=True)
class SsrfPolicy:
    """What the guard admits: public addresses, plus allow-listed host names and networks."""

    enabled: bool = True
    allowed_hosts: frozenset[str] = frozenset()
    allowed_networks: tuple[IPNetwork, ...] = field(default_factory=tuple)

    @classmethod
    def from_allow_list(cls, entries: Iterable[str], *, enabled: bool = True) -> SsrfPolicy:
        """A policy from entries that are host names (``intranet.example``) or CIDRs/IPs.

        ``127.0.0.1`` admits that address, ``10.0.0.0/8`` that network, ``docs.local`` that
        name whatever it resolves to.
        """
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                hosts.add(_normalise_host(entry))
        return cls(
            enabled=enabled, allowed_hosts=frozenset(hosts), allowed_networks=tuple(networks)
        )

    def host_allowed(self, host: str) -> bool:
        """Whether ``host`` is admitted by name, whatever it resolves to."""
        return _normalise_host(host) in self.allowed_hosts

    def check_scheme(self, url: httpx.URL) -> None:
        """Refuse URLs that are not http(s) (``file:``, ``gopher:``, ``ftp:``...)."""
        if url.scheme not in ALLOWED_SCHEMES:
            raise SsrfRefused(str(url), RefusalReason.SCHEME)

    def check_address(self, host: str, address: IPAddress) -> None:
        """Refuse connecting to ``address`` (which ``host`` resolved to) unless admitted."""
        if not self.enabled or self.host_allowed(host):
            return
        if any(address in network for network in self.allowed_networks):
            return
        reason = refusal_reason(address)
        if reason is not None:
            raise SsrfRefused(host, reason, str(address))

    def check_url(self, url: httpx.URL | str) -> None:
        """Refuse what can be refused from the URL alone: its scheme and a literal IP host."""
        parsed = httpx.URL(url) if isinstance(url, str) else url
        if not self.enabled:
            return
        self.check_scheme(parsed)
        literal = _literal_address(parsed.host)
        if literal is not None:
            self.check_address(parsed.host, literal)


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses of ``host`` from the system resolver (``/etc/hosts``, DNS), in its order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in addresses:
            addresses.append(address)
    return addresses


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that connects only to addresses the policy admits.

    The host is resolved once here; every address is checked (a name with one forbidden address
    is refused whole, since which one a retry picks is not ours to control), and the connection
    goes to a checked address literal, so nothing can re-resolve the name in between.
    """

    def __init__(
        self,
        policy: SsrfPolicy,
        inner: httpcore.AsyncNetworkBackend | None = None,
        resolver: Resolver = system_resolver,
    ) -> None:
        self.policy = policy
        self.inner = inner or httpcore.AnyIOBackend()
        self.resolver = resolver

    async def _resolve(self, host: str, port: int, within_s: float | None) -> list[IPAddress]:
        literal = _literal_address(host)
        if literal is not None:
            return [literal]
        try:
            async with asyncio.timeout(within_s):
                found = await self.resolver(host, port)
        except (OSError, TimeoutError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        if not found:
            raise httpcore.ConnectError(f"cannot resolve {host}: no address")
        return [ipaddress.ip_address(a) for a in found]

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Resolve, check every address, then connect to the first one that answers."""
        addresses = await self._resolve(host, port, timeout)
        for address in addresses:
            self.policy.check_address(host, address)
        last_error: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Unix sockets are local by definition: never for fetched URLs."""
        raise SsrfRefused(f"unix:{path}", RefusalReason.SCHEME)

    async def sleep(self, seconds: float) -> None:
        """Delegate to the wrapped backend (used by httpcore's connection retries)."""
        await self.inner.sleep(seconds)


class SsrfGuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with the SSRF guard: scheme and literal-IP checks per request, and a
    :class:`GuardedNetworkBackend` under the connection pool for resolved addresses.
    """

    def __init__(
        self,
        policy: SsrfPolicy,
        *,
        verify: bool = True,
        limits: httpx.Limits | None = None,
        resolver: Resolver = system_resolver,
        inner_backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        pool_limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        super().__init__(verify=verify, trust_env=False, limits=pool_limits)
        self.policy = policy
        # httpx 0.28 has no parameter for httpcore's network backend, so the pool httpx built is
        # replaced by the same pool with our backend (httpx's own request and error mapping are
        # kept). test_ssrf proves the guard is in the path, so an httpx change cannot silently
        # remove it.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=pool_limits.max_connections,
            max_keepalive_connections=pool_limits.max_keepalive_connections,
            keepalive_expiry=pool_limits.keepalive_expiry,
            network_backend=GuardedNetworkBackend(policy, inner_backend, resolver),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Refuse by scheme or literal address before the pool sees the request."""
        self.policy.check_url(request.url)
        return await super().handle_async_request(request)


def guarded_client(
    policy: SsrfPolicy,
    *,
    timeout: httpx.Timeout | float = 10.0,
    max_redirects: int = 5,
    follow_redirects: bool = True,
    resolver: Resolver = system_resolver,
    **kwargs: Any,
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` whose every request (and redirect hop) passes the guard."""
    return httpx.AsyncClient(
        transport=SsrfGuardedTransport(policy, resolver=resolver),
        timeout=timeout,
        max_redirects=max_redirects,
        follow_redirects=follow_redirects,
        trust_env=False,
        **kwargs,
    )
