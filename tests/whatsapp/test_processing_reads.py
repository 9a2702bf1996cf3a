"""What processing reads once and shares: a sweep's opening hours and the bot's menu views."""

from __future__ import annotations

import dataclasses
from contextlib import AbstractContextManager
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.catalog.test_cache_support import statements_with
from tests.whatsapp.conftest import fetch_all, store_without_processing
from tests.whatsapp.payloads import envelope, text_message
from zapora.db import utcnow
from zapora.outbox.models import OutboxMessage
from zapora.stores.models import OpeningHours
from zapora.whatsapp.conversation.queries import (
    get_item_with_options,
    list_available_items,
    list_menu_categories,
)
from zapora.whatsapp.processing import sweep_inbox


def hours_queries(engine: AsyncEngine) -> AbstractContextManager[list[str]]:
    """Collect the SQL statements that read opening hours while the block runs."""
    return statements_with(engine, "FROM store_opening_hours")


async def _store_texts(session_factory, store, wa_ids: list[str]) -> None:
    messages = [text_message("Oi", wa_id=wa_id) for wa_id in wa_ids]
    contacts = [{"profile": {"name": "Cliente"}, "wa_id": wa_id} for wa_id in wa_ids]
    await store_without_processing(
        session_factory, envelope(store.whatsapp_phone_number_id, messages, contacts=contacts)
    )


async def _reply_types(session_factory, wa_ids: list[str]) -> list[str]:
    rows = await fetch_all(session_factory, OutboxMessage, OutboxMessage.to.in_(wa_ids))
    return sorted(row.body["type"] for row in rows)


async def test_hours_read_once_per_sweep(app, settings, store, session_factory):
    async with session_factory() as fresh, fresh.begin():
        for weekday in range(7):
            # Open all day, every day.
            fresh.add(
                OpeningHours(store_id=store.id, weekday=weekday, opens_minute=0, closes_minute=0)
            )
    first_batch = [f"551190000{number:04d}" for number in range(5)]
    await _store_texts(session_factory, store, first_batch)

    with hours_queries(app.state.engine) as first_reads:
        assert await sweep_inbox(settings, session_factory) == len(first_batch)

    # Only open for an hour three days from now: closed at the moment.
    local_today = utcnow().astimezone(ZoneInfo(store.time_zone)).date()
    later = (local_today + timedelta(days=3)).weekday()
    async with session_factory() as fresh, fresh.begin():
        await fresh.execute(delete(OpeningHours).where(OpeningHours.store_id == store.id))
        fresh.add(
            OpeningHours(store_id=store.id, weekday=later, opens_minute=600, closes_minute=660)
        )
    second_batch = [f"551191000{number:04d}" for number in range(3)]
    await _store_texts(session_factory, store, second_batch)

    with hours_queries(app.state.engine) as second_reads:
        assert await sweep_inbox(settings, session_factory) == len(second_batch)

    assert len(first_reads) == 1
    assert len(second_reads) == 1
    # Open: the welcome is a list of categories. Closed: the closed text alone.
    assert await _reply_types(session_factory, first_batch) == ["interactive"] * 5
    assert await _reply_types(session_factory, second_batch) == ["text"] * 3


async def test_menu_views_read_only(session, store):
    [category] = await list_menu_categories(session, store.id)
    items = await list_available_items(session, store.id, category.id)
    item = await get_item_with_options(session, store.id, items[0].id)
    again = await get_item_with_options(session, store.id, items[0].id)

    assert item is not None
    assert again is item
    assert isinstance(item.option_groups, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.price = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.option_groups[0].options[0].is_available = False  # type: ignore[misc]
