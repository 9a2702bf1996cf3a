"""Per-request context: the request id and the client IP, bound for logs and audit entries.

This is pure ASGI middleware, so the structlog context variables it binds are seen by the
route, its dependencies and any task the route starts.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterable

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"
# Accept a caller's id only when it is short and plain, so it is safe in logs and headers.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_REQUEST_ID_KEY = REQUEST_ID_HEADER.encode("latin-1")
_FORWARDED_FOR_KEY = b"x-forwarded-for"

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Random bytes read at once for this many request ids: one getrandom system call per id cost
# about 3% of a cached menu read's CPU time.
IDS_PER_READ = 256
ID_BYTES = 16


class _RequestIds:
    """Random request ids of 32 hex digits, from random bytes read in blocks."""

    def __init__(self) -> None:
        self._block = b""
        self._offset = 0
        # A forked process must not hand out the rest of its parent's block again.
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._block = b""
        self._offset = 0

    def next(self) -> str:
        if self._offset >= len(self._block):
            self._block = os.urandom(ID_BYTES * IDS_PER_READ)
            self._offset = 0
        start = self._offset
        self._offset += ID_BYTES
        return self._block[start : self._offset].hex()


_request_ids = _RequestIds()


def parse_networks(values: Iterable[str]) -> list[IPNetwork]:
    """Parse IPs and CIDR blocks; raise ValueError naming the first invalid entry."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"invalid trusted proxy '{value}': use an IP or a CIDR block") from exc
    return networks


def is_trusted(address: str, trusted: list[IPNetwork]) -> bool:
    """Return whether ``address`` lies in one of the trusted networks; False when invalid."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_ip(peer: str | None, forwarded_for: str | None, trusted: list[IPNetwork]) -> str | None:
    """Return the client's address, believing X-Forwarded-For only from trusted proxies.

    The header is read right to left: each hop added by a trusted proxy is skipped, and the
    first address not in a trusted network is the client. A client that sends its own
    header only adds entries to the left of the ones the proxies append.
    """
    if peer is None or not forwarded_for or not is_trusted(peer, trusted):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not is_trusted(hop, trusted):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer
    return hops[0] if hops else peer


# Maximum count of remembered (peer, X-Forwarded-For) pairs. Past it they are all forgotten.
MAX_REMEMBERED_CLIENTS = 4096
# Maximum length of a remembered X-Forwarded-For header, which covers a few proxy hops.
MAX_REMEMBERED_HEADER_LENGTH = 256


class RequestContextMiddleware:
    """Bind ``request_id`` and ``client_ip`` for the request and echo ``X-Request-ID``."""

    def __init__(self, app: ASGIApp, trusted_proxies: list[IPNetwork]) -> None:
        self.app = app
        self.trusted_proxies = trusted_proxies
        # Parsing the addresses costs more than the rest of this middleware, and the same
        # clients come back behind the same proxies.
        self._client_ips: dict[tuple[str | None, str | None], str | None] = {}

    def _client_ip(self, peer: str | None, forwarded: str | None) -> str | None:
        key = (peer, forwarded)
        try:
            return self._client_ips[key]
        except KeyError:
            pass
        ip = client_ip(peer, forwarded, self.trusted_proxies)
        # Long headers are not kept, so that clients cannot fill the memory with them.
        if forwarded is not None and len(forwarded) > MAX_REMEMBERED_HEADER_LENGTH:
            return ip
        if len(self._client_ips) >= MAX_REMEMBERED_CLIENTS:
            self._client_ips.clear()
        self._client_ips[key] = ip
        return ip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = ""
        forwarded: str | None = None
        # ASGI header names are lower-case. When a header repeats, its last value is used.
        for key, value in scope["headers"]:
            if key == _REQUEST_ID_KEY:
                offered = value.decode("latin-1")
            elif key == _FORWARDED_FOR_KEY:
                forwarded = value.decode("latin-1") or None
        request_id = offered if _VALID_REQUEST_ID.match(offered) else _request_ids.next()
        peer = scope["client"][0] if scope.get("client") else None
        ip = self._client_ip(peer, forwarded)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["client_ip"] = ip
        id_header = (_REQUEST_ID_KEY, request_id.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        tokens = structlog.contextvars.bind_contextvars(request_id=request_id, client_ip=ip)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.reset_contextvars(**tokens)
