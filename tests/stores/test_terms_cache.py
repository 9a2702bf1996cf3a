"""The per-process copy of a store's hours and zone flag: its day, lifetime and bypasses."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.catalog.test_cache_support import statements_with
from tests.factories import make_store
from zapora.stores import terms_cache
from zapora.stores.hours import SEARCH_DAYS
from zapora.stores.models import DeliveryZone, StoreClosure
from zapora.stores.terms_cache import StoreTermsCache
from zapora.stores.terms_changes import note_terms_change, take_terms_changes

HOURS_SQL = "store_opening_hours"
ZONES_SQL = "FROM delivery_zones"
TODAY = date(2026, 1, 5)


async def test_hours_copy_kept_per_day(app: FastAPI, session: AsyncSession) -> None:
    store = await make_store(session)
    # Past the closures read for TODAY, inside those read for the day after.
    late_closure = TODAY + timedelta(days=SEARCH_DAYS + 2)
    session.add(StoreClosure(store_id=store.id, day=late_closure))
    await session.commit()
    cache = StoreTermsCache()

    with statements_with(app.state.engine, HOURS_SQL) as reads:
        first = await cache.hours(session, store.id, TODAY)
        again = await cache.hours(session, store.id, TODAY)
        next_day = await cache.hours(session, store.id, TODAY + timedelta(days=1))

    assert len(reads) == 2
    assert again is first
    assert late_closure not in first.closures
    assert late_closure in next_day.closures


async def test_copies_expire(
    app: FastAPI, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await make_store(session)
    await session.commit()
    cache = StoreTermsCache()
    monkeypatch.setattr(terms_cache, "LOCAL_TTL_SECONDS", 0.0)

    with statements_with(app.state.engine, HOURS_SQL) as hours_reads:
        await cache.hours(session, store.id, TODAY)
        await cache.hours(session, store.id, TODAY)
    with statements_with(app.state.engine, ZONES_SQL) as zone_reads:
        await cache.has_active_zones(session, store.id)
        await cache.has_active_zones(session, store.id)

    assert len(hours_reads) == 2
    assert len(zone_reads) == 2


async def test_uncommitted_change_bypasses_copy(session: AsyncSession) -> None:
    store_id = (await make_store(session)).id
    await session.commit()
    cache = StoreTermsCache()
    assert await cache.has_active_zones(session, store_id) is False
    await session.commit()

    session.add(
        DeliveryZone(
            store_id=store_id,
            name="Centro",
            kind="radius",
            radius_meters=900,
            fee=700,
            estimate_minutes=30,
        )
    )
    session.add(StoreClosure(store_id=store_id, day=TODAY))
    await session.flush()
    note_terms_change(session, store_id)
    zoned_in_change = await cache.has_active_zones(session, store_id)
    hours_in_change = await cache.hours(session, store_id, TODAY)
    await session.rollback()
    take_terms_changes(session)
    zoned_after = await cache.has_active_zones(session, store_id)
    hours_after = await cache.hours(session, store_id, TODAY)

    assert zoned_in_change is True
    assert TODAY in hours_in_change.closures
    # Neither read made during the change was kept.
    assert zoned_after is False
    assert TODAY not in hours_after.closures
