"""Login limits: attempts per client IP, and failed attempts per account across IPs."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import PASSWORD, make_store, make_user
from tests.ratelimit.conftest import assert_rate_limited, client_for, decisions
from zapora.auth.models import User

LOGIN_PATH = "/api/v1/auth/login"
TOKEN_PATH = "/api/v1/auth/token"
WRONG_PASSWORD = "not-the-password"


async def _user(session: AsyncSession, **values: object) -> User:
    store = await make_store(session)
    user = await make_user(session, store, **values)
    await session.commit()
    return user


async def _login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post(LOGIN_PATH, json={"email": email, "password": password})


async def test_login_limited_per_ip(app: FastAPI, session: AsyncSession) -> None:
    user = await _user(session)
    async with client_for(app, "198.51.100.1") as client:
        first = await _login(client, user.email, PASSWORD)
        for _ in range(3):
            await _login(client, f"other-{_}@example.com", WRONG_PASSWORD)
        limited = await _login(client, user.email, PASSWORD)
    async with client_for(app, "198.51.100.2") as elsewhere:
        other_ip = await _login(elsewhere, user.email, PASSWORD)

    assert first.status_code == 200
    assert first.headers["RateLimit-Limit"] == "4"
    assert first.headers["RateLimit-Remaining"] == "3"
    assert_rate_limited(limited, limit=4)
    assert other_ip.status_code == 200


async def test_failed_logins_throttle_account_across_ips(
    app: FastAPI, session: AsyncSession
) -> None:
    user = await _user(session)
    bystander = await _user(session)
    limited_before = decisions("login_account", "limited")
    for number in range(3):
        async with client_for(app, f"198.51.100.{10 + number}") as client:
            failed = await _login(client, user.email, WRONG_PASSWORD)
            assert failed.status_code == 401
    async with client_for(app, "198.51.100.20") as client:
        right_password = await _login(client, user.email, PASSWORD)
        other_account = await _login(client, bystander.email, PASSWORD)

    assert_rate_limited(right_password, limit=3)
    assert "failed logins for this account" in right_password.json()["detail"]
    assert decisions("login_account", "limited") - limited_before == 1
    assert other_account.status_code == 200


async def test_account_throttle_ignores_email_case(app: FastAPI, session: AsyncSession) -> None:
    user = await _user(session)
    async with client_for(app, "198.51.100.21") as client:
        for _ in range(3):
            assert (await _login(client, user.email.upper(), WRONG_PASSWORD)).status_code == 401
    async with client_for(app, "198.51.100.22") as client:
        limited = await _login(client, user.email, PASSWORD)
    assert_rate_limited(limited, limit=3)


async def test_unknown_email_throttled_like_known(app: FastAPI) -> None:
    email = "nobody-here@example.com"
    async with client_for(app, "198.51.100.23") as client:
        statuses = [(await _login(client, email, WRONG_PASSWORD)).status_code for _ in range(3)]
    async with client_for(app, "198.51.100.24") as client:
        limited = await _login(client, email, WRONG_PASSWORD)
    assert statuses == [401, 401, 401]
    assert_rate_limited(limited, limit=3)


async def test_successful_login_clears_failures(app: FastAPI, session: AsyncSession) -> None:
    user = await _user(session)
    async with client_for(app, "198.51.100.30") as client:
        for _ in range(2):
            assert (await _login(client, user.email, WRONG_PASSWORD)).status_code == 401
        assert (await _login(client, user.email, PASSWORD)).status_code == 200
    async with client_for(app, "198.51.100.31") as client:
        statuses = [
            (await _login(client, user.email, WRONG_PASSWORD)).status_code for _ in range(3)
        ]
        limited = await _login(client, user.email, WRONG_PASSWORD)
    assert statuses == [401, 401, 401]
    assert_rate_limited(limited, limit=3)


async def test_token_form_shares_account_throttle(app: FastAPI, session: AsyncSession) -> None:
    user = await _user(session)
    async with client_for(app, "198.51.100.40") as client:
        for _ in range(3):
            assert (await _login(client, user.email, WRONG_PASSWORD)).status_code == 401
    async with client_for(app, "198.51.100.41") as client:
        limited = await client.post(TOKEN_PATH, data={"username": user.email, "password": PASSWORD})
    assert_rate_limited(limited, limit=3)


async def test_token_form_limited_per_ip(app: FastAPI, session: AsyncSession) -> None:
    user = await _user(session)
    form = {"username": user.email, "password": PASSWORD}
    async with client_for(app, "198.51.100.50") as client:
        statuses = [(await client.post(TOKEN_PATH, data=form)).status_code for _ in range(4)]
        limited = await client.post(TOKEN_PATH, data=form)
    assert statuses == [200] * 4
    assert_rate_limited(limited, limit=4)


async def test_concurrent_guesses_share_account_limit(app: FastAPI, session: AsyncSession) -> None:
    user = await _user(session)

    async def guess(number: int) -> int:
        async with client_for(app, f"198.51.100.{100 + number}") as client:
            return (await _login(client, user.email, WRONG_PASSWORD)).status_code

    statuses = await asyncio.gather(*(guess(number) for number in range(10)))

    assert statuses.count(401) == 3
    assert statuses.count(429) == 7
