"""Online verification's outbound fetches (other CAs' CRLs, OCSP answers, certificates):
public addresses only, http and https only, bounded in size and time.

A certificate in an uploaded PDF names the URLs the server fetches, so anyone who can upload
could otherwise make the server reach its own loopback, the private network or a cloud
metadata service. Every address a name resolves to is checked before connecting (all of them:
a name with one private answer is refused), as is every literal address and every redirect.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import SimpleNamespace

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend
from pyhanko_certvalidator.fetchers.api import FetcherBackend
from yarl import URL

__all__ = [
    "MAX_RESPONSE_BYTES",
    "AddressCheck",
    "OutboundRefused",
    "any_address",
    "fetch_policy",
    "http_fetchers",
    "is_public",
]

logger = logging.getLogger("kyso.outbound")

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AddressCheck = Callable[[IpAddress], bool]
"""Whether the fetchers may connect to an address."""

MAX_RESPONSE_BYTES = 16 * 1024 * 1024
"""Largest CRL, OCSP answer or certificate read (national CRLs run to a few MB)."""
REQUEST_SECONDS = 10
"""One fetch, redirects included."""
CONNECT_SECONDS = 5
TOTAL_SECONDS = 20
"""Every fetch of one verification."""
MAX_REDIRECTS = 3

_SCHEMES = frozenset({"http", "https"})
_NOT_PUBLIC = tuple(
    ipaddress.ip_network(block)
    for block in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
        "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15",
        "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
        "::/127", "100::/64", "2001:db8::/32", "fc00::/7", "fe80::/10", "fec0::/10",
        "ff00::/8",
    )
)  # fmt: skip
"""Never public, whatever ``is_global`` says (multicast is "global" to the ipaddress module)."""
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64, Teredo client)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.teredo is not None:
        return address.teredo[1]
    return None


def is_public(address: IpAddress) -> bool:
    """A globally routed unicast address: not loopback, private, link-local (cloud metadata),
    shared (CGNAT), multicast, documentation or reserved, nor an IPv6 form of one of those."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None and not is_public(embedded):
            return False
    if any(address in block for block in _NOT_PUBLIC if block.version == address.version):
        return False
    return address.is_global and not address.is_multicast


def any_address(_address: IpAddress) -> bool:
    """``KYSO_VERIFY_PRIVATE_ADDRESSES``: an intranet CA or a test PKI (refused in production)."""
    return True


class OutboundRefused(aiohttp.ClientError):
    """A fetch the policy refuses (an aiohttp error, so pyHanko reports a failed fetch)."""


def _refuse(what: str) -> OutboundRefused:
    logger.warning("online verification: refused to fetch %s", what)
    return OutboundRefused(f"refused to fetch {what}")


def _check_url(url: URL, allowed: AddressCheck) -> None:
    """The scheme, and the host when it is a literal address (names are checked once
    resolved)."""
    if url.scheme not in _SCHEMES:
        raise _refuse(f"a {url.scheme or 'relative'}: URL")
    try:
        address = ipaddress.ip_address(url.host or "")
    except ValueError:
        return
    if not allowed(address):
        raise _refuse(f"the non-public address {address}")


class _CheckedResolver(AbstractResolver):
    """The system resolver, refusing a name when any of its addresses is not allowed."""

    def __init__(self, allowed: AddressCheck) -> None:
        self._inner = aiohttp.ThreadedResolver()
        self._allowed = allowed

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            if not self._allowed(ipaddress.ip_address(result["host"])):
                raise _refuse(f"{host}: it resolves to a non-public address")
        return results

    async def close(self) -> None:
        await self._inner.close()


class _CappedResponse(aiohttp.ClientResponse):
    """A response whose body is read up to :data:`MAX_RESPONSE_BYTES`, no further."""

    async def read(self) -> bytes:
        if self.content_length is not None and self.content_length > MAX_RESPONSE_BYTES:
            self.close()
            raise _refuse(f"{self.url.host}: an answer of {self.content_length} bytes")
        body = bytearray()
        async for chunk in self.content.iter_chunked(64 * 1024):
            body += chunk
            if len(body) > MAX_RESPONSE_BYTES:
                self.close()
                raise _refuse(f"{self.url.host}: an answer over {MAX_RESPONSE_BYTES} bytes")
        self.release()
        return bytes(body)


def _trace(allowed: AddressCheck) -> aiohttp.TraceConfig:
    """Checks the first URL and every redirect's target before they are requested."""

    async def on_start(
        _session: aiohttp.ClientSession, _context: SimpleNamespace,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:  # fmt: skip
        _check_url(params.url, allowed)

    async def on_redirect(
        _session: aiohttp.ClientSession, context: SimpleNamespace,
        params: aiohttp.TraceRequestRedirectParams,
    ) -> None:  # fmt: skip
        context.redirects = getattr(context, "redirects", 0) + 1
        if context.redirects > MAX_REDIRECTS:
            raise _refuse(f"{params.url.host}: more than {MAX_REDIRECTS} redirects")
        location = params.response.headers.get("Location", "")
        _check_url(params.url.join(URL(location)), allowed)

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    trace.on_request_redirect.append(on_redirect)
    return trace


def fetch_policy(private_addresses: bool) -> AddressCheck:
    """The addresses ``KYSO_VERIFY_PRIVATE_ADDRESSES`` lets the fetchers reach."""
    return any_address if private_addresses else is_public


def http_fetchers(
    allowed: AddressCheck = is_public,
) -> Callable[[], AbstractAsyncContextManager[FetcherBackend]]:
    """pyHanko's aiohttp fetchers over one guarded HTTP session per verification."""

    @asynccontextmanager
    async def fetchers() -> AsyncIterator[FetcherBackend]:
        connector = aiohttp.TCPConnector(resolver=_CheckedResolver(allowed), limit=8)
        async with aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=TOTAL_SECONDS, sock_connect=CONNECT_SECONDS),
            trace_configs=[_trace(allowed)],
            response_class=_CappedResponse,
        ) as session:
            yield AIOHttpFetcherBackend(session, per_request_timeout=REQUEST_SECONDS)

    return fetchers
