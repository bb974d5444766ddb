"""The SSRF guard refuses non-public destinations before connecting, on every redirect hop.

A small HTTP server on 127.0.0.1 (in a thread of the test process) plays the allow-listed site;
a recording network backend under the guard shows which addresses a connection was opened to,
so "refused before any traffic" is observed, not assumed.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpcore
import httpx
import pytest
from ragchat_common.ssrf import (
    GuardedNetworkBackend,
    RefusalReason,
    Resolver,
    SsrfGuardedTransport,
    SsrfPolicy,
    SsrfRefused,
    refusal_reason,
    system_resolver,
)

pytestmark = pytest.mark.unit


class Site(BaseHTTPRequestHandler):
    """``/`` echoes the Host header; ``/go?to=URL`` redirects to URL."""

    def do_GET(self) -> None:
        if self.path.startswith("/go?to="):
            self.send_response(302)
            self.send_header("Location", self.path.removeprefix("/go?to="))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = f"host={self.headers['Host']}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Quiet: the test output is the assertions."""


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class RecordingBackend(httpcore.AsyncNetworkBackend):
    """The real network backend, noting every address a connection is opened to."""

    def __init__(self) -> None:
        self.inner = httpcore.AnyIOBackend()
        self.connected: list[str] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connected.append(host)
        return await self.inner.connect_tcp(host, port, timeout, local_address, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def static_resolver(table: dict[str, list[str]]) -> Resolver:
    """A resolver with fixed answers, so a test decides what a name resolves to."""

    async def resolve(host: str, port: int) -> list[str]:
        return table[host]

    return resolve


def client_for(
    policy: SsrfPolicy, backend: RecordingBackend, resolver: Resolver = system_resolver
) -> httpx.AsyncClient:
    transport = SsrfGuardedTransport(policy, inner_backend=backend, resolver=resolver)
    return httpx.AsyncClient(transport=transport, follow_redirects=True, max_redirects=3)


LOCAL_ONLY = SsrfPolicy.from_allow_list(["127.0.0.1"])


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("10.1.2.3", RefusalReason.PRIVATE),
        ("192.168.1.1", RefusalReason.PRIVATE),
        ("172.16.0.1", RefusalReason.PRIVATE),
        ("127.0.0.1", RefusalReason.LOOPBACK),
        ("169.254.169.254", RefusalReason.CLOUD_METADATA),
        ("169.254.1.1", RefusalReason.LINK_LOCAL),
        ("100.100.100.200", RefusalReason.CLOUD_METADATA),
        ("100.64.0.1", RefusalReason.NOT_GLOBAL),
        ("0.0.0.0", RefusalReason.UNSPECIFIED),
        ("224.0.0.1", RefusalReason.MULTICAST),
        ("240.0.0.1", RefusalReason.PRIVATE),
        ("::1", RefusalReason.LOOPBACK),
        ("::", RefusalReason.UNSPECIFIED),
        ("fe80::1", RefusalReason.LINK_LOCAL),
        ("fc00::1", RefusalReason.PRIVATE),
        ("fd00:ec2::254", RefusalReason.CLOUD_METADATA),
        ("ff02::1", RefusalReason.MULTICAST),
        ("::ffff:127.0.0.1", RefusalReason.LOOPBACK),
        ("::ffff:10.0.0.1", RefusalReason.PRIVATE),
        ("2002:a9fe:a9fe::", RefusalReason.CLOUD_METADATA),
        ("64:ff9b::a01:203", RefusalReason.PRIVATE),
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_refusal_reason_of_addresses(address: str, reason: RefusalReason | None) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) == reason


async def test_private_ip_literal_is_refused_without_connecting() -> None:
    backend = RecordingBackend()
    async with client_for(SsrfPolicy(), backend) as client:
        with pytest.raises(SsrfRefused) as refused:
            await client.get("http://10.1.2.3/admin")
    assert refused.value.reason is RefusalReason.PRIVATE
    assert backend.connected == []


async def test_ipv4_mapped_ipv6_literal_is_refused() -> None:
    backend = RecordingBackend()
    async with client_for(SsrfPolicy(), backend) as client:
        with pytest.raises(SsrfRefused) as refused:
            await client.get("http://[::ffff:169.254.169.254]/latest/meta-data/")
    assert refused.value.reason is RefusalReason.CLOUD_METADATA
    assert backend.connected == []


async def test_hostname_resolving_to_loopback_is_refused(site: str) -> None:
    port = httpx.URL(site).port
    backend = RecordingBackend()
    resolver = static_resolver({"intranet.example": ["127.0.0.1"]})
    async with client_for(SsrfPolicy(), backend, resolver) as client:
        with pytest.raises(SsrfRefused) as refused:
            await client.get(f"http://intranet.example:{port}/")
    assert refused.value.reason is RefusalReason.LOOPBACK
    assert refused.value.address == "127.0.0.1"
    assert backend.connected == []


async def test_localhost_through_the_system_resolver_is_refused(site: str) -> None:
    backend = RecordingBackend()
    async with client_for(SsrfPolicy(), backend) as client:
        with pytest.raises(SsrfRefused) as refused:
            await client.get(f"http://localhost:{httpx.URL(site).port}/")
    assert refused.value.reason is RefusalReason.LOOPBACK
    assert backend.connected == []


async def test_a_name_with_any_forbidden_address_is_refused_whole() -> None:
    backend = RecordingBackend()
    resolver = static_resolver({"mixed.example": ["93.184.216.34", "10.0.0.7"]})
    async with client_for(SsrfPolicy(), backend, resolver) as client:
        with pytest.raises(SsrfRefused) as refused:
            await client.get("http://mixed.example/")
    assert refused.value.address == "10.0.0.7"
    assert backend.connected == []


async def test_allow_listed_loopback_is_admitted(site: str) -> None:
    backend = RecordingBackend()
    async with client_for(LOCAL_ONLY, backend) as client:
        response = await client.get(f"{site}/")
    assert response.status_code == 200
    assert backend.connected == ["127.0.0.1"]


async def test_connects_to_the_checked_address_and_keeps_the_host_header(site: str) -> None:
    port = httpx.URL(site).port
    backend = RecordingBackend()
    resolver = static_resolver({"docs.example": ["127.0.0.1"]})
    async with client_for(LOCAL_ONLY, backend, resolver) as client:
        response = await client.get(f"http://docs.example:{port}/")
    assert response.text == f"host=docs.example:{port}"
    assert backend.connected == ["127.0.0.1"]


async def test_redirect_to_a_private_address_is_refused(site: str) -> None:
    backend = RecordingBackend()
    async with client_for(LOCAL_ONLY, backend) as client:
        with pytest.raises(SsrfRefused) as refused:
            await client.get(f"{site}/go?to=http://10.1.2.3/secret")
    assert refused.value.reason is RefusalReason.PRIVATE
    assert backend.connected == ["127.0.0.1"]


async def test_redirect_to_a_name_resolving_to_metadata_is_refused(site: str) -> None:
    backend = RecordingBackend()
    resolver = static_resolver({"metadata.example": ["169.254.169.254"]})
    async with client_for(LOCAL_ONLY, backend, resolver) as client:
        with pytest.raises(SsrfRefused) as refused:
            await client.get(f"{site}/go?to=http://metadata.example/latest/")
    assert refused.value.reason is RefusalReason.CLOUD_METADATA
    assert backend.connected == ["127.0.0.1"]


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "gopher://a/"])
async def test_non_http_schemes_are_refused(url: str) -> None:
    backend = RecordingBackend()
    async with client_for(SsrfPolicy(), backend) as client:
        with pytest.raises(SsrfRefused) as refused:
            await client.get(url)
    assert refused.value.reason is RefusalReason.SCHEME
    assert backend.connected == []


async def test_allow_list_by_host_name_admits_that_name_only(site: str) -> None:
    port = httpx.URL(site).port
    policy = SsrfPolicy.from_allow_list(["docs.example"])
    resolver = static_resolver({"docs.example": ["127.0.0.1"], "other.example": ["127.0.0.1"]})
    backend = RecordingBackend()
    async with client_for(policy, backend, resolver) as client:
        assert (await client.get(f"http://docs.example:{port}/")).status_code == 200
        with pytest.raises(SsrfRefused):
            await client.get(f"http://other.example:{port}/")


async def test_unresolvable_host_is_a_connect_error_not_a_refusal() -> None:
    backend = GuardedNetworkBackend(SsrfPolicy(), resolver=static_resolver({"x.example": []}))
    with pytest.raises(httpcore.ConnectError):
        await backend.connect_tcp("x.example", 80)


def test_policy_from_allow_list_parses_hosts_and_networks() -> None:
    policy = SsrfPolicy.from_allow_list(["127.0.0.1", "10.0.0.0/8", "Docs.Example.", " ", "::1"])
    assert policy.allowed_hosts == frozenset({"docs.example"})
    assert [str(n) for n in policy.allowed_networks] == ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]
    policy.check_url("http://10.9.9.9/")
    with pytest.raises(SsrfRefused):
        policy.check_url("http://192.168.0.1/")
