"""The request context middleware's memory of client addresses."""

from __future__ import annotations

from starlette.types import Receive, Scope, Send

from zapora.observability.request_context import (
    MAX_REMEMBERED_HEADER_LENGTH,
    RequestContextMiddleware,
    parse_networks,
)


async def _app(scope: Scope, receive: Receive, send: Send) -> None:
    return None


def _middleware() -> RequestContextMiddleware:
    return RequestContextMiddleware(_app, trusted_proxies=parse_networks(["10.0.0.0/8"]))


def test_short_forwarded_header_remembered() -> None:
    middleware = _middleware()

    assert middleware._client_ip("10.0.0.5", "203.0.113.9") == "203.0.113.9"
    assert ("10.0.0.5", "203.0.113.9") in middleware._client_ips


def test_long_forwarded_header_not_remembered() -> None:
    middleware = _middleware()
    header = ", ".join(["198.51.100.1"] * 40)
    assert len(header) > MAX_REMEMBERED_HEADER_LENGTH

    assert middleware._client_ip("10.0.0.5", header) == "198.51.100.1"
    assert middleware._client_ips == {}
