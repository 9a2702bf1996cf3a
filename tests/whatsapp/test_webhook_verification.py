"""GET /webhooks/whatsapp: Meta's subscription check."""

from __future__ import annotations

import pytest

from tests.conftest import VERIFY_TOKEN, make_settings
from tests.whatsapp.conftest import app_client

PATH = "/webhooks/whatsapp"


async def test_verification_returns_challenge(client):
    params = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    response = await client.get(PATH, params=params)
    assert response.status_code == 200
    assert response.text == "1158201444"
    assert response.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong-token", "hub.challenge": "42"},
        {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN[:-1], "hub.challenge": "42"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "42"},
        {"hub.verify_token": VERIFY_TOKEN, "hub.challenge": "42"},
        {"hub.mode": "subscribe", "hub.challenge": "42"},
        {},
    ],
    ids=["wrong-token", "token-prefix", "wrong-mode", "no-mode", "no-token", "nothing"],
)
async def test_verification_rejected(client, params):
    response = await client.get(PATH, params=params)
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "verification_failed"
    assert "42" not in response.text


async def test_verification_without_configured_token(database_url):
    settings = make_settings(database_url, whatsapp_verify_token=None)
    async with app_client(settings) as http:
        response = await http.get(
            PATH, params={"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "42"}
        )
    assert response.status_code == 403
    assert response.json()["code"] == "verification_failed"
