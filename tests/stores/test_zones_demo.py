"""The demo store's location and delivery zones, seeded once."""

from __future__ import annotations

import time

import httpx
import redis.asyncio as redis
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.catalog.test_cache_support import cache_settings_for
from zapora.config import Settings
from zapora.demo import (
    DEMO_LATITUDE,
    DEMO_LONGITUDE,
    DEMO_MANAGER_EMAIL,
    DEMO_MANAGER_PASSWORD,
    seed_demo_store,
)
from zapora.stores.models import DeliveryZone, Store


async def _zone_count(session: AsyncSession) -> int:
    count = await session.scalar(select(func.count()).select_from(DeliveryZone))
    # Ending the read transaction releases SQLite's write lock for the seed's own engine.
    await session.rollback()
    return int(count or 0)


async def test_demo_zones_seeded_once(
    app: FastAPI, session: AsyncSession, settings: Settings
) -> None:
    first = await seed_demo_store(settings)
    assert first.zones_created
    assert await _zone_count(session) == 2

    second = await seed_demo_store(settings)

    assert not second.zones_created
    assert await _zone_count(session) == 2
    store = await session.get(Store, first.store_id)
    assert store is not None
    assert (store.latitude, store.longitude) == (DEMO_LATITUDE, DEMO_LONGITUDE)
    await session.rollback()


async def test_demo_quotes(app: FastAPI, client: httpx.AsyncClient, settings: Settings) -> None:
    result = await seed_demo_store(settings)
    login = await client.post(
        "/api/v1/auth/login",
        json={"email": DEMO_MANAGER_EMAIL, "password": DEMO_MANAGER_PASSWORD},
    )
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    url = f"/api/v1/stores/{result.store_id}/zones/quote"

    # The location the chat simulator's help suggests lies in both zones; the ring wins.
    near = await client.get(
        url, params={"latitude": -23.5614, "longitude": -46.6559}, headers=headers
    )
    assert near.status_code == 200, near.text
    assert near.json()["zone_name"] == "Até 3 km"
    assert near.json()["fee"] == 700

    # Pinheiros is beyond 3 km but inside the wider polygon.
    wider = await client.get(
        url, params={"latitude": -23.5670, "longitude": -46.7020}, headers=headers
    )
    assert wider.json()["zone_name"] == "Centro expandido"
    assert wider.json()["fee"] == 1200

    # Campinas is outside both.
    far = await client.get(
        url, params={"latitude": -22.9056, "longitude": -47.0608}, headers=headers
    )
    assert far.status_code == 422
    assert far.json()["code"] == "outside_delivery_area"


async def test_demo_zones_are_announced(app: FastAPI, database_url: str) -> None:
    async with cache_settings_for("redis", database_url) as settings:
        subscriber = redis.Redis.from_url(settings.redis_url)
        channel = subscriber.pubsub()
        await channel.subscribe(f"{settings.cache_key_prefix}:store-terms")
        try:
            result = await seed_demo_store(settings)
            again = await seed_demo_store(settings)
            messages = []
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline:
                message = await channel.get_message(ignore_subscribe_messages=True, timeout=0.1)
                if message is not None:
                    messages.append(message["data"].decode())
        finally:
            await channel.aclose()
            await subscriber.aclose()

    assert result.zones_created
    assert not again.zones_created
    # Replicas that kept the store without zones drop that copy; a second run changes nothing.
    assert messages == [str(result.store_id)]
