"""The request context middleware's memory of client addresses, and its request ids."""

from __future__ import annotations

import multiprocessing
import re
from multiprocessing.connection import Connection

from starlette.types import Receive, Scope, Send

from zapora.observability.request_context import (
    IDS_PER_READ,
    MAX_REMEMBERED_HEADER_LENGTH,
    RequestContextMiddleware,
    _request_ids,
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


def _child_id(connection: Connection) -> None:
    connection.send(_request_ids.next())
    connection.close()


def test_generated_request_ids_unique_across_fork() -> None:
    ids = [_request_ids.next() for _ in range(3 * IDS_PER_READ)]
    parent, child = multiprocessing.get_context("fork").Pipe()
    # The child starts with the rest of the parent's random block in memory.
    process = multiprocessing.get_context("fork").Process(target=_child_id, args=(child,))
    process.start()
    from_child = parent.recv()
    process.join(timeout=10)
    ids.append(_request_ids.next())

    assert all(re.fullmatch(r"[0-9a-f]{32}", value) for value in [*ids, from_child])
    assert len(set(ids)) == len(ids)
    assert from_child not in ids
