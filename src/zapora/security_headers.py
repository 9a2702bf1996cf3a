"""Security headers on every response, with a Content Security Policy per kind of page.

API responses are JSON and get a policy that allows nothing. The Swagger UI and ReDoc
pages that FastAPI serves load their scripts and stylesheets from a CDN and run one inline
script, so their policy is built from each page itself: it allows exactly the script,
stylesheet and icon URLs the page names, the SHA-256 hashes of its inline scripts, and
same-origin requests for the OpenAPI document.

NOTE: a response built by Starlette's ServerErrorMiddleware (an unhandled exception, status
500) leaves the stack outside this middleware and carries none of these headers.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"

# Google Fonts, which the ReDoc page links, serves the font files from this origin.
DOCS_FONT_SOURCES = ("https://fonts.gstatic.com",)

_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL)
_SCRIPT_SOURCE = re.compile(rb"<script[^>]*\bsrc=\"([^\"]+)\"", re.IGNORECASE)
_STYLESHEET = re.compile(rb"<link[^>]*\brel=\"stylesheet\"[^>]*>", re.IGNORECASE)
_ICON = re.compile(rb"<link[^>]*\brel=\"[^\"]*icon\"[^>]*>", re.IGNORECASE)
_HREF = re.compile(rb"\bhref=\"([^\"]+)\"", re.IGNORECASE)


def _hrefs(tags: Iterable[bytes]) -> list[str]:
    sources = []
    for tag in tags:
        match = _HREF.search(tag)
        if match is not None:
            sources.append(match.group(1).decode("utf-8", "replace"))
    return sources


def _absolute(urls: Iterable[str]) -> list[str]:
    # A relative URL is covered by 'self'. A URL with characters that would break the header
    # (such as the commas of a font stylesheet's query) is allowed by its origin instead.
    sources = set()
    for url in urls:
        if not url.startswith("https://"):
            continue
        if re.search(r"[\s;,']", url):
            host = urlsplit(url).netloc
            if host and not re.search(r"[\s;,']", host):
                sources.add(f"https://{host}")
            continue
        sources.add(url)
    return sorted(sources)


def docs_content_security_policy(html: bytes) -> str:
    """Build the policy that lets this documentation page load, and nothing else."""
    script_hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    ]
    scripts = _absolute(url.decode("utf-8", "replace") for url in _SCRIPT_SOURCE.findall(html))
    stylesheets = _absolute(_hrefs(_STYLESHEET.findall(html)))
    icons = _absolute(_hrefs(_ICON.findall(html)))
    directives = [
        "default-src 'none'",
        " ".join(["script-src 'self'", *scripts, *script_hashes]),
        # Swagger UI and ReDoc set inline styles on the elements they render.
        " ".join(["style-src 'self' 'unsafe-inline'", *stylesheets]),
        " ".join(["img-src 'self' data:", *icons]),
        " ".join(["font-src 'self'", *DOCS_FONT_SOURCES]),
        "connect-src 'self'",
        # ReDoc runs its search index in a Web Worker created from a blob: URL.
        "worker-src 'self' blob:",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ]
    return "; ".join(directives)


class SecurityHeadersMiddleware:
    """Add HSTS, a Content Security Policy and the anti-sniffing and framing headers.

    Headers that a route set itself are kept.
    """

    def __init__(self, app: ASGIApp, *, hsts_seconds: int, docs_paths: Iterable[str]) -> None:
        self.app = app
        self.docs_paths = frozenset(docs_paths)
        self.headers: dict[str, str] = {
            "x-content-type-options": "nosniff",
            "x-frame-options": "DENY",
            "referrer-policy": "no-referrer",
        }
        if hsts_seconds > 0:
            # Browsers ignore this header on plain HTTP, so sending it there is harmless.
            self.headers["strict-transport-security"] = f"max-age={hsts_seconds}"

    def _add_headers(self, message: Message, content_security_policy: str) -> None:
        headers = MutableHeaders(scope=message)
        for name, value in self.headers.items():
            headers.setdefault(name, value)
        headers.setdefault("content-security-policy", content_security_policy)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] in self.docs_paths:
            await self._serve_docs(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._add_headers(message, API_CONTENT_SECURITY_POLICY)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _serve_docs(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Hold a docs page until its body is complete, since its policy depends on it."""
        start: Message | None = None
        chunks: list[bytes] = []

        async def buffer(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            self._add_headers(start, docs_content_security_policy(body))
            await send(start)
            await send({"type": "http.response.body", "body": body, "more_body": False})

        await self.app(scope, receive, buffer)
