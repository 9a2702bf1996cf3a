"""Courier and file input that must get a 4xx: odd signatures, times, numbers and reasons."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.delivery.builders import Dispatch, fresh_order
from tests.delivery.test_deliveries import DELIVERIES_URL, take_order
from zapora.db import utcnow

POSITION_URL = "/api/v1/courier/position"


@pytest.mark.parametrize(
    "signature",
    ["%C3%A9", "%E2%80%AE" + "0" * 60, "%00", "z" * 64],
)
async def test_file_signature_not_ascii(client: httpx.AsyncClient, signature: str) -> None:
    response = await client.get(f"/files/x.png?expires=9999999999&signature={signature}")

    assert response.status_code == 404, response.text
    assert response.json()["errors"][0]["field"] == "signature"


async def test_file_signature_with_bad_key(client: httpx.AsyncClient) -> None:
    response = await client.get("/files/%C3%A9.png?expires=9999999999&signature=ab")

    assert response.status_code == 404, response.text


async def post_position(
    client: httpx.AsyncClient, dispatch: Dispatch, recorded_at: str
) -> httpx.Response:
    body = {"latitude": -23.56, "longitude": -46.65, "recorded_at": recorded_at}
    return await client.post(POSITION_URL, json=body, headers=dispatch.couriers[0].headers)


@pytest.mark.parametrize("recorded_at", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
async def test_position_time_past_calendar(
    client: httpx.AsyncClient, dispatch: Dispatch, recorded_at: str
) -> None:
    response = await post_position(client, dispatch, recorded_at)

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "body.recorded_at"


async def test_position_too_old(client: httpx.AsyncClient, dispatch: Dispatch) -> None:
    stale = (utcnow() - timedelta(hours=25)).isoformat()
    recent = (utcnow() - timedelta(hours=23)).isoformat()

    refused = await post_position(client, dispatch, stale)
    accepted = await post_position(client, dispatch, recent)

    assert refused.status_code == 422, refused.text
    error = refused.json()["errors"][0]
    assert error["field"] == "recorded_at"
    assert error["fix"] == "send the current position"
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["position_applied"] is True


@pytest.mark.parametrize(
    ("field", "value"),
    [("latitude", "NaN"), ("longitude", "Infinity"), ("latitude", "-Infinity")],
)
async def test_position_not_finite(
    client: httpx.AsyncClient, dispatch: Dispatch, field: str, value: str
) -> None:
    body = {"latitude": -23.56, "longitude": -46.65, "recorded_at": utcnow().isoformat()}
    # Written by hand, because httpx's json= refuses to encode NaN and Infinity.
    text = json.dumps(body).replace(json.dumps(body[field]), value, 1)
    headers = {**dispatch.couriers[0].headers, "Content-Type": "application/json"}

    response = await client.post(POSITION_URL, content=text, headers=headers)

    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert error["field"] == f"body.{field}"
    assert "finite" in error["message"]


@pytest.mark.parametrize("reason", ["   ", "door\x00bell", "\x07", "a" * 501])
async def test_failure_reason_rejected(
    client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch, reason: str
) -> None:
    courier = dispatch.couriers[0]
    order = await take_order(client, session, dispatch, courier)

    response = await client.post(
        f"{DELIVERIES_URL}/{order.id}/failed", json={"reason": reason}, headers=courier.headers
    )

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "body.reason"
    stored = await fresh_order(session, order.id)
    assert stored.status == "out_for_delivery"
    assert stored.delivery_failed_reason is None


async def test_failure_reason_trimmed(
    client: httpx.AsyncClient, session: AsyncSession, dispatch: Dispatch
) -> None:
    courier = dispatch.couriers[0]
    order = await take_order(client, session, dispatch, courier)

    response = await client.post(
        f"{DELIVERIES_URL}/{order.id}/failed",
        json={"reason": "  gate locked\nno answer  "},
        headers=courier.headers,
    )

    assert response.status_code == 200, response.text
    stored = await fresh_order(session, order.id)
    assert stored.delivery_failed_reason == "gate locked\nno answer"
