"""Transport rules for every request: a maximum body size and an optional HTTPS redirect."""

from __future__ import annotations

import re

from fastapi import FastAPI
from starlette.datastructures import URL, Headers
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zapora.config import Settings
from zapora.errors import problem_response
from zapora.observability.request_context import IPNetwork, is_trusted, parse_networks
from zapora.security_headers import SecurityHeadersMiddleware

# Probes and scrapes come from inside the network over plain HTTP.
REDIRECT_EXEMPT_PREFIXES = ("/health", "/metrics")

CORS_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
CORS_REQUEST_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID")
CORS_EXPOSED_HEADERS = (
    "X-Request-ID",
    "Location",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
)
# Browsers may reuse an allowed preflight for this long instead of asking again.
CORS_MAX_AGE_SECONDS = 600


# The courier's proof-of-delivery upload; every other route keeps ZAPORA_MAX_BODY_BYTES.
UPLOAD_PATHS = re.compile(r"/api/v1/courier/deliveries/[^/]+/delivered")
UPLOAD_OVERHEAD_BYTES = 64 * 1024
# HTTP versions in which a request without Content-Length or Transfer-Encoding has no body.
# HTTP/2 and HTTP/3 may stream a body without either.
BODILESS_VERSIONS = frozenset({"1.0", "1.1"})


class BodyTooLargeError(HTTPException):
    """A request body larger than the limit; rendered as a 413 problem by the error handler."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(
            status_code=413,
            detail=f"The request body exceeds the maximum of {max_bytes} bytes; send less data.",
        )


class BodySizeLimitMiddleware:
    """Reject a request body larger than ``max_bytes`` with 413.

    A declared Content-Length over the limit is rejected before any of the body is read. A
    body sent without a length (chunked) is counted as it streams in, and the read that
    crosses the limit raises BodyTooLargeError, which the error handlers turn into the
    same 413 answer.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        upload_max_bytes: int | None = None,
        upload_paths: re.Pattern[str] | None = None,
    ) -> None:
        self.app = app
        self.default_max_bytes = max_bytes
        # Routes that take a file upload (proof photos) get their own, larger limit.
        self.upload_max_bytes = max(max_bytes, upload_max_bytes or 0)
        self.upload_paths = upload_paths

    def _limit_for(self, path: str) -> int:
        if self.upload_paths is not None and self.upload_paths.fullmatch(path):
            return self.upload_max_bytes
        return self.default_max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared: str | None = None
        chunked = False
        for key, value in scope["headers"]:
            if key == b"content-length" and declared is None:
                declared = value.decode("latin-1")
            elif key == b"transfer-encoding":
                chunked = True
        if declared is None and not chunked and scope.get("http_version") in BODILESS_VERSIONS:
            # An HTTP/1 request with neither header has no body (RFC 9112, section 6.3).
            await self.app(scope, receive, send)
            return
        max_bytes = self._limit_for(scope["path"])
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            await self._reject(scope, receive, send, max_bytes)
            return
        received = 0
        response_started = False

        async def receive_counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise BodyTooLargeError(max_bytes)
            return message

        async def send_tracked(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive_counted, send_tracked)
        except BodyTooLargeError:
            # Reached only when no error handler responded, e.g. a middleware read the body.
            if response_started:
                raise
            await self._reject(scope, receive, send, max_bytes)

    async def _reject(self, scope: Scope, receive: Receive, send: Send, max_bytes: int) -> None:
        error = BodyTooLargeError(max_bytes)
        response = problem_response(
            status=413,
            code="payload_too_large",
            title="Request body too large",
            detail=str(error.detail),
            instance=scope["path"],
        )
        await response(scope, receive, send)


class HttpsRedirectMiddleware:
    """Redirect plain HTTP requests to HTTPS, except health probes and metric scrapes.

    Behind a proxy that ends TLS, the request reached the proxy over HTTPS when the
    proxy says so in X-Forwarded-Proto. That header is believed only from a trusted proxy,
    because any client can send it.
    """

    def __init__(self, app: ASGIApp, *, trusted_proxies: list[IPNetwork]) -> None:
        self.app = app
        self.trusted_proxies = trusted_proxies

    def _is_https(self, scope: Scope) -> bool:
        if scope.get("scheme") == "https":
            return True
        peer = scope["client"][0] if scope.get("client") else None
        if peer is None or not is_trusted(peer, self.trusted_proxies):
            return False
        forwarded = Headers(scope=scope).get("x-forwarded-proto", "")
        # A chain of proxies lists one scheme per hop; the first is the client's.
        return forwarded.split(",")[0].strip().lower() == "https"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"].startswith(REDIRECT_EXEMPT_PREFIXES)
            or self._is_https(scope)
        ):
            await self.app(scope, receive, send)
            return
        url = URL(scope=scope).replace(scheme="https", port=None)
        # 308 keeps the method and body of a POST; GET and HEAD use the common 301.
        status = 301 if scope["method"] in ("GET", "HEAD") else 308
        await RedirectResponse(str(url), status_code=status)(scope, receive, send)


def install_http_security(app: FastAPI, settings: Settings) -> None:
    """Add the body size limit, CORS, the optional HTTPS redirect and the security headers.

    Each ``add_middleware`` call wraps the ones before it, so the security headers, added
    last, reach the redirects, CORS responses and 413 responses of the inner layers too.
    """
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        # The photo itself plus the multipart framing and the other form fields.
        upload_max_bytes=settings.proof_photo_max_bytes + UPLOAD_OVERHEAD_BYTES,
        upload_paths=UPLOAD_PATHS,
    )
    # Bearer tokens travel in a header, so cross-origin requests need no cookies.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=CORS_METHODS,
        allow_headers=CORS_REQUEST_HEADERS,
        expose_headers=CORS_EXPOSED_HEADERS,
        allow_credentials=False,
        max_age=CORS_MAX_AGE_SECONDS,
    )
    if settings.https_redirect:
        app.add_middleware(
            HttpsRedirectMiddleware, trusted_proxies=parse_networks(settings.trusted_proxies)
        )
    docs_paths = [
        path for path in (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url) if path
    ]
    app.add_middleware(
        SecurityHeadersMiddleware, hsts_seconds=settings.hsts_seconds, docs_paths=docs_paths
    )
