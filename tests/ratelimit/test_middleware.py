"""Per-IP limits applied by the middleware, in process memory and in Redis."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from tests.conftest import make_settings
from tests.ratelimit.conftest import (
    TIGHT_LIMITS,
    assert_rate_limited,
    client_for,
    decisions,
    running_app,
)

# A default-class route that returns 200 without touching the database.
STAFF_PATH = "/openapi.json"
MENU_PATH = "/api/v1/stores/no-such-store/menu"


@pytest.fixture
def backend() -> str:
    """The middleware needs no database, so these tests run on SQLite only."""
    return "sqlite"


async def test_over_limit_returns_problem(app: FastAPI) -> None:
    allowed_before = decisions("default", "allowed")
    limited_before = decisions("default", "limited")
    async with client_for(app, "203.0.113.7") as client:
        for remaining in (2, 1, 0):
            response = await client.get(STAFF_PATH)
            assert response.status_code == 200
            assert response.headers["RateLimit-Limit"] == "3"
            assert response.headers["RateLimit-Remaining"] == str(remaining)
            assert 0 <= int(response.headers["RateLimit-Reset"]) <= 60
        limited = await client.get(STAFF_PATH)

    assert_rate_limited(limited, limit=3)
    assert limited.json()["instance"] == STAFF_PATH
    assert "x-request-id" in limited.headers
    assert decisions("default", "allowed") - allowed_before == 3
    assert decisions("default", "limited") - limited_before == 1


async def test_error_responses_count_too(app: FastAPI) -> None:
    async with client_for(app, "203.0.113.8") as client:
        statuses = [(await client.get("/api/v1/no-such-route")).status_code for _ in range(3)]
        limited = await client.get(STAFF_PATH)
    assert statuses == [404, 404, 404]
    assert_rate_limited(limited, limit=3)


async def test_clients_have_separate_buckets(app: FastAPI) -> None:
    async with client_for(app, "203.0.113.1") as first:
        for _ in range(3):
            await first.get(STAFF_PATH)
        assert_rate_limited(await first.get(STAFF_PATH), limit=3)
    async with client_for(app, "203.0.113.2") as second:
        response = await second.get(STAFF_PATH)
    assert response.status_code == 200
    assert response.headers["RateLimit-Remaining"] == "2"


async def test_ipv6_network_shares_bucket(app: FastAPI) -> None:
    for suffix in ("1", "2", "3"):
        async with client_for(app, f"2001:db8:5:6::{suffix}") as client:
            assert (await client.get(STAFF_PATH)).status_code == 200
    async with client_for(app, "2001:db8:5:6:ffff::9") as same_network:
        limited = await same_network.get(STAFF_PATH)
    async with client_for(app, "2001:db8:5:7::1") as other_network:
        allowed = await other_network.get(STAFF_PATH)
    assert_rate_limited(limited, limit=3)
    assert allowed.status_code == 200


async def test_health_is_not_limited(app: FastAPI) -> None:
    async with client_for(app, "203.0.113.3") as client:
        responses = [await client.get("/health") for _ in range(10)]
    assert [response.status_code for response in responses] == [200] * 10
    assert all("RateLimit-Limit" not in response.headers for response in responses)


async def test_public_menu_has_own_bucket(app: FastAPI) -> None:
    async with client_for(app, "203.0.113.4") as client:
        for _ in range(3):
            await client.get(STAFF_PATH)
        assert_rate_limited(await client.get(STAFF_PATH), limit=3)

        menus = [await client.get(MENU_PATH) for _ in range(5)]
        limited = await client.get(MENU_PATH)

    assert [response.status_code for response in menus] == [404] * 5
    assert [response.headers["RateLimit-Limit"] for response in menus] == ["5"] * 5
    assert menus[-1].headers["RateLimit-Remaining"] == "0"
    assert_rate_limited(limited, limit=5)


async def test_spoofed_forwarded_for_is_ignored(app: FastAPI) -> None:
    """Without trusted proxies a client cannot pick its bucket with X-Forwarded-For."""
    async with client_for(app, "198.51.100.9") as client:
        for number in range(3):
            response = await client.get(
                STAFF_PATH, headers={"X-Forwarded-For": f"192.0.2.{number}"}
            )
            assert response.status_code == 200
        spoofed = await client.get(STAFF_PATH, headers={"X-Forwarded-For": "192.0.2.200"})
        plain = await client.get(STAFF_PATH)
    assert_rate_limited(spoofed, limit=3)
    assert_rate_limited(plain, limit=3)


async def test_trusted_proxy_distinguishes_clients(
    database_url: str, storage_settings: dict[str, object]
) -> None:
    settings = make_settings(
        database_url,
        **TIGHT_LIMITS,
        **storage_settings,
        trusted_proxies="10.0.0.0/8, 127.0.0.1",
    )
    async with running_app(settings) as app, client_for(app, "10.1.2.3") as proxy:
        for _ in range(3):
            response = await proxy.get(STAFF_PATH, headers={"X-Forwarded-For": "192.0.2.10"})
            assert response.status_code == 200
        limited = await proxy.get(STAFF_PATH, headers={"X-Forwarded-For": "192.0.2.10"})
        # The client prepends its own entry; the proxy appends the real address after it.
        prepended = await proxy.get(
            STAFF_PATH, headers={"X-Forwarded-For": "192.0.2.99, 192.0.2.10"}
        )
        other_client = await proxy.get(STAFF_PATH, headers={"X-Forwarded-For": "192.0.2.11"})

    assert_rate_limited(limited, limit=3)
    assert_rate_limited(prepended, limit=3)
    assert other_client.status_code == 200
    assert other_client.headers["RateLimit-Remaining"] == "2"


async def test_disabled_setting_allows_everything(database_url: str) -> None:
    settings = make_settings(database_url, **TIGHT_LIMITS, rate_limit_enabled=False)
    async with running_app(settings) as app, client_for(app, "203.0.113.5") as client:
        responses = [await client.get(STAFF_PATH) for _ in range(6)]
    assert [response.status_code for response in responses] == [200] * 6
    assert all("RateLimit-Limit" not in response.headers for response in responses)


@pytest.mark.parametrize("storage", ["redis"])
async def test_instances_share_redis_limit(app: FastAPI, settings: object) -> None:
    async with (
        running_app(app.state.settings) as other,
        client_for(app, "203.0.113.6") as first,
        client_for(other, "203.0.113.6") as second,
    ):
        assert (await first.get(STAFF_PATH)).headers["RateLimit-Remaining"] == "2"
        assert (await second.get(STAFF_PATH)).headers["RateLimit-Remaining"] == "1"
        assert (await first.get(STAFF_PATH)).headers["RateLimit-Remaining"] == "0"
        limited = await second.get(STAFF_PATH)
    assert_rate_limited(limited, limit=3)


@pytest.mark.parametrize("storage", ["memory"])
async def test_embedded_instances_count_apart(app: FastAPI) -> None:
    """Without Redis each process keeps its own counters."""
    async with running_app(app.state.settings) as other:
        async with client_for(app, "203.0.113.6") as first:
            for _ in range(3):
                await first.get(STAFF_PATH)
            assert_rate_limited(await first.get(STAFF_PATH), limit=3)
        async with client_for(other, "203.0.113.6") as second:
            response = await second.get(STAFF_PATH)
    assert response.status_code == 200
    assert response.headers["RateLimit-Remaining"] == "2"
