"""Security headers, CORS, the body size limit and the HTTPS redirect."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import Message, Receive, Scope, Send

from tests.conftest import make_settings
from tests.factories import make_store
from tests.whatsapp.payloads import dumps, envelope, post_webhook, text_message
from zapora.app import create_app
from zapora.config import Settings
from zapora.security import BodySizeLimitMiddleware
from zapora.security_headers import API_CONTENT_SECURITY_POLICY

ALLOWED_ORIGIN = "https://admin.example.com"


@asynccontextmanager
async def serve(
    settings: Settings, client_address: tuple[str, int] = ("127.0.0.1", 123)
) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(settings)
    transport = httpx.ASGITransport(app=application, client=client_address)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http
    finally:
        await application.state.engine.dispose()


def _directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for directive in policy.split(";"):
        name, *sources = directive.split()
        parsed[name] = sources
    return parsed


def _inline_script_hashes(html: str) -> list[str]:
    bodies = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, re.DOTALL)
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in bodies
    ]


async def test_api_response_headers(client: httpx.AsyncClient, settings: Settings) -> None:
    response = await client.get("/api/v1/stores")

    assert response.status_code == 401
    assert response.headers["content-security-policy"] == API_CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["strict-transport-security"] == f"max-age={settings.hsts_seconds}"


async def test_hsts_left_out_when_zero(database_url: str) -> None:
    async with serve(make_settings(database_url, hsts_seconds=0)) as http:
        response = await http.get("/health/live")

    assert "strict-transport-security" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_swagger_page_policy_allows_its_assets(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")

    assert response.status_code == 200
    policy = _directives(response.headers["content-security-policy"])
    scripts = re.findall(r'<script src="([^"]+)"', response.text)
    stylesheets = re.findall(
        r'<link type="text/css" rel="stylesheet" href="([^"]+)"', response.text
    )
    assert scripts
    assert stylesheets
    for url in scripts:
        assert url in policy["script-src"]
    for url in stylesheets:
        assert url in policy["style-src"]
    hashes = _inline_script_hashes(response.text)
    assert hashes
    for digest in hashes:
        assert digest in policy["script-src"]
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]
    assert policy["default-src"] == ["'none'"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]


async def test_redoc_page_policy(client: httpx.AsyncClient) -> None:
    response = await client.get("/redoc")

    assert response.status_code == 200
    policy = _directives(response.headers["content-security-policy"])
    script = re.search(r'<script src="([^"]+)"', response.text)
    assert script is not None
    assert script.group(1) in policy["script-src"]
    assert "blob:" in policy["worker-src"]
    assert "https://fonts.gstatic.com" in policy["font-src"]
    assert "https://fonts.googleapis.com" in policy["style-src"]
    assert response.headers["x-frame-options"] == "DENY"


async def test_openapi_document_gets_api_policy(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")

    assert response.status_code == 200
    assert response.headers["content-security-policy"] == API_CONTENT_SECURITY_POLICY


async def test_cors_preflight_allowed(database_url: str) -> None:
    settings = make_settings(database_url, cors_origins=[ALLOWED_ORIGIN])
    async with serve(settings) as http:
        response = await http.options(
            "/api/v1/stores",
            headers={
                "Origin": ALLOWED_ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "Authorization, Content-Type",
            },
        )
        simple = await http.get("/health/live", headers={"Origin": ALLOWED_ORIGIN})

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "authorization" in response.headers["access-control-allow-headers"].lower()
    assert response.headers["x-content-type-options"] == "nosniff"
    assert simple.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "X-Request-ID" in simple.headers["access-control-expose-headers"]


async def test_cors_preflight_denied(database_url: str) -> None:
    settings = make_settings(database_url, cors_origins=[ALLOWED_ORIGIN])
    async with serve(settings) as http:
        response = await http.options(
            "/api/v1/stores",
            headers={
                "Origin": "https://evil.example.net",
                "Access-Control-Request-Method": "POST",
            },
        )
        simple = await http.get("/health/live", headers={"Origin": "https://evil.example.net"})

    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-origin" not in simple.headers


async def test_body_over_limit_by_length(client: httpx.AsyncClient, settings: Settings) -> None:
    response = await client.post(
        "/api/v1/auth/login",
        content=b"{" + b" " * settings.max_body_bytes + b"}",
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "payload_too_large"
    assert str(settings.max_body_bytes) in body["detail"]
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_chunked_body_over_limit(client: httpx.AsyncClient, settings: Settings) -> None:
    chunk = b" " * 65536
    chunks = settings.max_body_bytes // len(chunk) + 2

    async def stream() -> AsyncIterator[bytes]:
        for _ in range(chunks):
            yield chunk

    response = await client.post(
        "/webhooks/whatsapp",
        content=stream(),
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": "sha256=00"},
    )

    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


async def test_chunked_body_over_limit_on_json_route(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    async def stream() -> AsyncIterator[bytes]:
        yield b'{"email": "'
        for _ in range(settings.max_body_bytes // 65536 + 2):
            yield b"a" * 65536
        yield b'"}'

    response = await client.post(
        "/api/v1/auth/login", content=stream(), headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


async def test_meta_sized_webhook_accepted(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    store = await make_store(session)
    await session.commit()
    messages = [text_message("Quero uma pizza grande " * 40) for _ in range(100)]
    payload = envelope(store.whatsapp_phone_number_id, messages=messages)
    assert 100_000 < len(dumps(payload)) < 1_048_576

    response = await post_webhook(client, payload)

    assert response.status_code == 200, response.text
    assert response.json()["messages_stored"] == 100


async def test_https_redirect_for_plain_http(database_url: str) -> None:
    settings = make_settings(database_url, https_redirect=True)
    async with serve(settings) as http:
        get = await http.get("/api/v1/stores?limit=5")
        post = await http.post("/api/v1/auth/login", json={})
        probe = await http.get("/health/ready")

    assert get.status_code == 301
    assert get.headers["location"] == "https://testserver/api/v1/stores?limit=5"
    assert get.headers["strict-transport-security"].startswith("max-age=")
    assert post.status_code == 308
    assert post.headers["location"] == "https://testserver/api/v1/auth/login"
    assert probe.status_code == 200


async def test_forwarded_proto_believed_from_trusted_proxy(database_url: str) -> None:
    settings = make_settings(database_url, https_redirect=True, trusted_proxies=["10.0.0.0/8"])
    forwarded = {"X-Forwarded-Proto": "https"}
    async with serve(settings, client_address=("10.1.2.3", 5000)) as via_proxy:
        trusted = await via_proxy.get("/api/v1/stores", headers=forwarded)
    async with serve(settings, client_address=("203.0.113.9", 5000)) as direct:
        spoofed = await direct.get("/api/v1/stores", headers=forwarded)

    assert trusted.status_code == 401
    assert spoofed.status_code == 301


async def test_no_redirect_by_default(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/stores")

    assert response.status_code == 401


async def test_proof_photo_upload_has_its_own_limit(database_url: str) -> None:
    settings = make_settings(database_url, max_body_bytes=2048, proof_photo_max_bytes=8192)
    body = b"\xff\xd8\xff" + b"\x00" * 4096
    async with serve(settings) as http:
        upload = await http.post(
            "/api/v1/courier/deliveries/00000000-0000-0000-0000-000000000000/delivered",
            content=body,
            headers={"Content-Type": "application/octet-stream"},
        )
        elsewhere = await http.post(
            "/api/v1/auth/login", content=body, headers={"Content-Type": "application/json"}
        )
        beyond = await http.post(
            "/api/v1/courier/deliveries/00000000-0000-0000-0000-000000000000/delivered",
            content=b"\x00" * (8192 + 128 * 1024),
            headers={"Content-Type": "application/octet-stream"},
        )

    # The upload passes the size check and meets the sign-in check instead.
    assert upload.status_code == 401
    assert elsewhere.status_code == 413
    assert beyond.status_code == 413


async def _read_body_and_answer(scope: Scope, receive: Receive, send: Send) -> None:
    more_body = True
    while more_body:
        more_body = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"read"})


async def test_http2_unsized_body_counted() -> None:
    """Only HTTP/1 promises that a request with no length header has no body."""
    chunks: list[Message] = [
        {"type": "http.request", "body": b"x" * 8, "more_body": True},
        {"type": "http.request", "body": b"x" * 8, "more_body": False},
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return chunks.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "http_version": "2", "method": "POST", "path": "/x", "headers": []}
    await BodySizeLimitMiddleware(_read_body_and_answer, max_bytes=10)(scope, receive, send)

    assert sent[0]["status"] == 413
