"""The route class table and the ASGI middleware that applies each class's limit."""

from __future__ import annotations

import functools
import ipaddress
import re

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zapora.config import Settings
from zapora.ratelimit.limiter import (
    Policy,
    RateLimiter,
    RouteClass,
    policies_from_settings,
    storage_uri,
)
from zapora.ratelimit.responses import (
    RateLimitedError,
    handle_rate_limited,
    rate_limited_response,
    raw_rate_limit_headers,
)

# Paths are matched in order. The first template that matches the path, or a prefix of it
# ending at a "/", wins, and "{name}" matches one path segment. Paths that match none are
# in RouteClass.DEFAULT. A class of None is not limited, because the health and metrics
# probes come from a few load balancer and Prometheus addresses and must work under load.
ROUTE_CLASSES: tuple[tuple[str, RouteClass | None], ...] = (
    ("/health", None),
    ("/metrics", None),
    ("/webhooks/whatsapp", RouteClass.WEBHOOK),
    ("/api/v1/auth/login", RouteClass.LOGIN),
    ("/api/v1/auth/token", RouteClass.LOGIN),
    ("/api/v1/stores/{slug}/menu", RouteClass.PUBLIC),
)

# Every webhook request comes from Meta's servers, so the webhook has one bucket for the
# app. Customers' own addresses never reach this service.
WEBHOOK_KEY = "whatsapp-cloud-api"
UNKNOWN_CLIENT_KEY = "unknown"


def _compile(template: str) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
    return re.compile(f"{pattern}(?:/.*)?")


_COMPILED = tuple((_compile(template), route_class) for template, route_class in ROUTE_CLASSES)


# Each distinct path is classified once. Paths with ids in them each take an entry, and the
# least recently used are forgotten past this count.
@functools.lru_cache(maxsize=4096)
def classify(path: str) -> RouteClass | None:
    """Return the route class of ``path``, or None when it is not limited."""
    for pattern, route_class in _COMPILED:
        if pattern.fullmatch(path):
            return route_class
    return RouteClass.DEFAULT


@functools.lru_cache(maxsize=4096)
def address_bucket(address: str) -> str:
    """Return the bucket of a client address: the IPv4 address, or the IPv6 /64 network.

    An IPv6 subscriber usually gets a whole /64, so counting single IPv6 addresses would let
    one client rotate through countless buckets.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def _client_key(scope: Scope, route_class: RouteClass) -> str:
    if route_class is RouteClass.WEBHOOK:
        return WEBHOOK_KEY
    # RequestContextMiddleware stores the address it derived from trusted proxies' headers.
    client_ip = scope.get("state", {}).get("client_ip")
    if client_ip is None and scope.get("client"):
        client_ip = scope["client"][0]
    return address_bucket(str(client_ip)) if client_ip else UNKNOWN_CLIENT_KEY


class RateLimitMiddleware:
    """Count each HTTP request against its route class's limit, keyed by client IP.

    It reads ``scope["state"]["client_ip"]``, so it must run inside RequestContextMiddleware.
    Allowed responses carry the RateLimit-* headers. Rejected requests get a 429 problem.
    """

    def __init__(
        self, app: ASGIApp, limiter: RateLimiter, policies: dict[RouteClass, Policy]
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.policies = policies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route_class = classify(scope["path"])
        if route_class is None:
            await self.app(scope, receive, send)
            return
        decision = await self.limiter.acquire(
            self.policies[route_class], _client_key(scope, route_class)
        )
        if not decision.allowed:
            subject = (
                "webhook requests"
                if route_class is RouteClass.WEBHOOK
                else "requests from this client"
            )
            error = RateLimitedError(decision, subject)
            await rate_limited_response(error, scope["path"])(scope, receive, send)
            return
        extra_headers = raw_rate_limit_headers(decision)
        if not extra_headers:
            # The storage failed: no window is known, so no headers are sent.
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", ())
                # A route that applied a narrower limit of its own (per-account login
                # throttling) already set the headers of that limit.
                if not any(name.lower() == b"ratelimit-limit" for name, _ in headers):
                    message["headers"] = [*headers, *extra_headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_rate_limiting(app: FastAPI, settings: Settings) -> None:
    """Create the app's limiter and add the middleware, unless rate limiting is disabled.

    Call it before adding RequestContextMiddleware: middleware added earlier runs inside
    middleware added later, and this one needs the client IP that one stores.
    """
    app.add_exception_handler(RateLimitedError, handle_rate_limited)
    if not settings.rate_limit_enabled:
        app.state.rate_limiter = None
        return
    limiter = RateLimiter(
        storage_uri(settings.redis_url), key_prefix=settings.rate_limit_key_prefix
    )
    app.state.rate_limiter = limiter
    app.state.rate_limit_policies = policies_from_settings(settings)
    app.add_middleware(RateLimitMiddleware, limiter=limiter, policies=app.state.rate_limit_policies)
