"""The WhatsApp webhook has one bucket for all of Meta's traffic, apart from the API's."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from tests.conftest import VERIFY_TOKEN, make_settings
from tests.ratelimit.conftest import (
    TIGHT_LIMITS,
    assert_rate_limited,
    client_for,
    decisions,
    running_app,
)
from tests.whatsapp.payloads import WEBHOOK_PATH, post_webhook

VERIFY_PARAMS = {
    "hub.mode": "subscribe",
    "hub.verify_token": VERIFY_TOKEN,
    "hub.challenge": "1158201444",
}
EMPTY_DELIVERY = {"object": "whatsapp_business_account", "entry": []}


@pytest.fixture
def backend() -> str:
    """The webhook requests here store nothing, so these tests run on SQLite only."""
    return "sqlite"


async def test_webhook_bucket_ignores_sender_address(app: FastAPI) -> None:
    allowed_before = decisions("webhook", "allowed")
    statuses = []
    for number in range(6):
        async with client_for(app, f"192.0.2.{number + 1}") as meta_server:
            response = await meta_server.get(WEBHOOK_PATH, params=VERIFY_PARAMS)
            statuses.append(response.status_code)
            assert response.headers["RateLimit-Limit"] == "6"
            assert response.headers["RateLimit-Remaining"] == str(5 - number)
    async with client_for(app, "192.0.2.100") as new_address:
        limited = await post_webhook(new_address, EMPTY_DELIVERY)

    assert statuses == [200] * 6
    assert decisions("webhook", "allowed") - allowed_before == 6
    assert_rate_limited(limited, limit=6)
    assert "webhook requests" in limited.json()["detail"]


async def test_webhook_apart_from_api_bucket(app: FastAPI) -> None:
    async with client_for(app, "192.0.2.50") as client:
        for _ in range(3):
            await client.get("/openapi.json")
        assert_rate_limited(await client.get("/openapi.json"), limit=3)
        delivery = await post_webhook(client, EMPTY_DELIVERY)
        verification = await client.get(WEBHOOK_PATH, params=VERIFY_PARAMS)

    assert delivery.status_code == 200, delivery.text
    assert delivery.headers["RateLimit-Limit"] == "6"
    assert delivery.headers["RateLimit-Remaining"] == "5"
    assert verification.status_code == 200
    assert verification.headers["RateLimit-Remaining"] == "4"


async def test_webhook_ignores_forwarded_customer_address(
    database_url: str, storage_settings: dict[str, object]
) -> None:
    settings = make_settings(
        database_url, **TIGHT_LIMITS, **storage_settings, trusted_proxies="10.0.0.0/8"
    )
    async with running_app(settings) as app, client_for(app, "10.0.0.2") as proxy:
        for number in range(6):
            forwarded = {"X-Forwarded-For": f"198.51.100.{number + 1}"}
            response = await proxy.get(WEBHOOK_PATH, params=VERIFY_PARAMS, headers=forwarded)
            assert response.status_code == 200
        limited = await proxy.get(
            WEBHOOK_PATH, params=VERIFY_PARAMS, headers={"X-Forwarded-For": "198.51.100.99"}
        )
    assert_rate_limited(limited, limit=6)
