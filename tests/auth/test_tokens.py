"""Forged, altered and stale access tokens are rejected with a 401 problem."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.auth.conftest import ME_URL, Team, bearer, log_in
from tests.conftest import make_settings
from zapora.app import create_app
from zapora.auth.models import User
from zapora.auth.tokens import REQUIRED_CLAIMS
from zapora.config import Settings


def _segment(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def forge(header: dict[str, Any], claims: dict[str, Any], key: bytes | None) -> str:
    """Build a JWT by hand, signed with the header's HS algorithm when a key is given."""
    signing_input = (
        f"{_segment(json.dumps(header).encode())}.{_segment(json.dumps(claims).encode())}"
    )
    if key is None:
        return f"{signing_input}."
    digest = hashlib.sha512 if header.get("alg") == "HS512" else hashlib.sha256
    signature = hmac.new(key, signing_input.encode("ascii"), digest).digest()
    return f"{signing_input}.{_segment(signature)}"


def _claims(settings: Settings, user: User, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": str(user.id),
        "role": user.role,
        "ver": user.token_version,
        "typ": "access",
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
    }
    claims.update(changes)
    return claims


def _key(settings: Settings) -> bytes:
    return settings.secret_key.get_secret_value().encode()


HS256 = {"alg": "HS256", "typ": "JWT"}


async def _assert_rejected(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    response = await client.get(ME_URL, headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    body: dict[str, Any] = response.json()
    assert body["code"] == "not_authenticated"
    return body


async def test_forged_valid_token_accepted(client, settings, team: Team):
    token = forge(HS256, _claims(settings, team.manager), _key(settings))

    response = await client.get(ME_URL, headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200, response.text
    assert response.json()["id"] == str(team.manager.id)


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
async def test_alg_none_rejected(client, settings, team: Team, alg: str):
    await _assert_rejected(client, forge({"alg": alg}, _claims(settings, team.manager), None))


async def test_unsigned_token_rejected(client, settings, team: Team):
    token = forge(HS256, _claims(settings, team.manager), _key(settings))
    header, payload, _ = token.split(".")
    none_header = _segment(json.dumps({"alg": "none"}).encode())

    await _assert_rejected(client, f"{none_header}.{payload}.")
    await _assert_rejected(client, f"{header}.{payload}.")


async def test_hs512_with_real_key_rejected(client, settings, team: Team):
    token = forge({"alg": "HS512", "typ": "JWT"}, _claims(settings, team.manager), _key(settings))

    await _assert_rejected(client, token)


@pytest.mark.parametrize("alg", ["RS256", "ES256", "PS256"])
async def test_asymmetric_header_rejected(client, settings, team: Team, alg: str):
    # An HMAC made with the server's secret under an asymmetric header: the confusion attack.
    token = forge({"alg": alg, "typ": "JWT"}, _claims(settings, team.manager), _key(settings))

    await _assert_rejected(client, token)


async def test_wrong_key_rejected(client, settings, team: Team):
    token = forge(HS256, _claims(settings, team.manager), b"another-secret-key-of-enough-length")

    await _assert_rejected(client, token)


async def test_tampered_payload_rejected(client, settings, team: Team):
    token = forge(HS256, _claims(settings, team.courier), _key(settings))
    header, _, signature = token.split(".")
    raised = _claims(settings, team.courier, role="platform_admin")
    payload = _segment(json.dumps(raised).encode())

    await _assert_rejected(client, f"{header}.{payload}.{signature}")


async def test_expired_token_rejected(client, settings, team: Team):
    past = int(time.time()) - 3600
    claims = _claims(settings, team.manager, iat=past - 600, exp=past)

    body = await _assert_rejected(client, forge(HS256, claims, _key(settings)))

    assert "expired" in body["detail"]


async def test_accepted_token_still_expires(
    client: httpx.AsyncClient, settings: Settings, team: Team
) -> None:
    # A token accepted once is cached as verified, and its expiry still applies. It expires
    # one to two seconds from now, so the first request runs while it is valid.
    expires_at = int(time.time()) + 2
    token = forge(HS256, _claims(settings, team.manager, exp=expires_at), _key(settings))
    accepted = await client.get(ME_URL, headers={"Authorization": f"Bearer {token}"})
    assert accepted.status_code == 200, accepted.text

    await asyncio.sleep(expires_at - time.time() + 0.05)

    body = await _assert_rejected(client, token)
    assert "expired" in body["detail"]


async def test_other_secret_rejects_cached_token(
    client: httpx.AsyncClient, team: Team, database_url: str
) -> None:
    token = str((await log_in(client, team.manager))["access_token"])
    accepted = await client.get(ME_URL, headers={"Authorization": f"Bearer {token}"})
    assert accepted.status_code == 200, accepted.text
    other_app = create_app(make_settings(database_url, secret_key=secrets.token_urlsafe(48)))
    transport = httpx.ASGITransport(app=other_app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
            await _assert_rejected(other, token)
    finally:
        await other_app.state.engine.dispose()


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "someone-else"},
        {"aud": "another-api"},
        {"aud": ["zapora-api", "another-api"]},
        {"typ": "refresh"},
        {"typ": "id"},
        {"sub": "not-a-uuid"},
        {"sub": str(uuid.uuid4())},
        {"ver": "0"},
        {"ver": True},
        {"role": 1},
    ],
    ids=lambda changes: "-".join(f"{key}={value}" for key, value in changes.items()),
)
async def test_wrong_claim_rejected(client, settings, team: Team, changes: dict[str, Any]):
    token = forge(HS256, _claims(settings, team.manager, **changes), _key(settings))

    await _assert_rejected(client, token)


@pytest.mark.parametrize("missing", REQUIRED_CLAIMS)
async def test_missing_claim_rejected(client, settings, team: Team, missing: str):
    claims = _claims(settings, team.manager)
    del claims[missing]

    await _assert_rejected(client, forge(HS256, claims, _key(settings)))


@pytest.mark.parametrize("token", ["", "abc", "a.b", "a.b.c", "Bearer x.y.z"])
async def test_malformed_token_rejected(client, team: Team, token: str):
    await _assert_rejected(client, token)


async def test_refresh_token_as_access_rejected(client, team: Team):
    tokens = await log_in(client, team.manager)

    await _assert_rejected(client, str(tokens["refresh_token"]))


async def test_stale_version_rejected(client, session: AsyncSession, team: Team):
    tokens = await log_in(client, team.manager)
    assert (await client.get(ME_URL, headers=bearer(tokens))).status_code == 200

    await session.execute(
        update(User).where(User.id == team.manager.id).values(token_version=User.token_version + 1)
    )
    await session.commit()

    await _assert_rejected(client, str(tokens["access_token"]))


async def test_missing_header_rejected(client, team: Team):
    response = await client.get(ME_URL)

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


async def test_disabled_user_token_rejected(client, session: AsyncSession, team: Team):
    tokens = await log_in(client, team.staff)
    await session.execute(update(User).where(User.id == team.staff.id).values(is_active=False))
    await session.commit()

    body = await _assert_rejected(client, str(tokens["access_token"]))

    assert "disabled" in body["detail"]


async def test_deleted_user_token_rejected(client, session: AsyncSession, team: Team):
    tokens = await log_in(client, team.courier)
    await session.delete(await session.get(User, team.courier.id))
    await session.commit()

    await _assert_rejected(client, str(tokens["access_token"]))


async def test_changed_role_token_rejected(client, session: AsyncSession, team: Team):
    tokens = await log_in(client, team.courier)
    await session.execute(update(User).where(User.id == team.courier.id).values(role="store_staff"))
    await session.commit()

    await _assert_rejected(client, str(tokens["access_token"]))
