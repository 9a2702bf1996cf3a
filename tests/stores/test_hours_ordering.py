"""Orders and the bot while the opening hours close the store: rejection and next opening."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.orders.builders import make_shop, pickup_body
from tests.stores.hours_helpers import range_from_now
from tests.whatsapp.test_conversation_support import body_text, kind_of, open_chat
from zapora.config import Settings
from zapora.orders.models import Order
from zapora.stores.models import OpeningHours, Store
from zapora.whatsapp.conversation.closed import describe_opening
from zapora.whatsapp.models import Conversation

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
# Monday 2026-01-05 10:00 in Sao Paulo.
MONDAY_MORNING = datetime(2026, 1, 5, 13, 0, tzinfo=UTC)


def _minute(clock: object) -> int:
    hours, minutes = str(clock).split(":")
    return int(hours) * 60 + int(minutes)


async def _add_range(session: AsyncSession, store: Store, item: dict[str, object]) -> None:
    session.add(
        OpeningHours(
            store_id=store.id,
            weekday=item["weekday"],
            opens_minute=_minute(item["opens"]),
            closes_minute=_minute(item["closes"]),
        )
    )
    await session.commit()


def _when(zone: ZoneInfo, start: datetime, today: str, tomorrow: str) -> str:
    local = start.astimezone(zone)
    word = today if local.date() == datetime.now(zone).date() else tomorrow
    return f"{word} {local:%H:%M}"


async def test_order_rejected_outside_hours(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    shop = await make_shop(session, client)
    later, start, _ = range_from_now(shop.store.time_zone, 120, 60)
    await _add_range(session, shop.store, later)

    response = await client.post(shop.orders_url, json=pickup_body(shop.menu), headers=shop.headers)

    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["code"] == "store_closed"
    assert datetime.fromisoformat(problem["opens_next_at"]) == start
    assert await session.scalar(select(func.count()).select_from(Order)) == 0


async def test_order_accepted_inside_hours(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    shop = await make_shop(session, client)
    current, _, _ = range_from_now(shop.store.time_zone, -60, 180)
    await _add_range(session, shop.store, current)

    response = await client.post(shop.orders_url, json=pickup_body(shop.menu), headers=shop.headers)

    assert response.status_code == 201, response.text


async def test_order_rejected_inside_lead_time(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    shop = await make_shop(session, client, last_order_lead_minutes=60)
    current, start, _ = range_from_now(shop.store.time_zone, -60, 90)
    await _add_range(session, shop.store, current)

    response = await client.post(shop.orders_url, json=pickup_body(shop.menu), headers=shop.headers)

    assert response.status_code == 409, response.text
    assert response.json()["code"] == "store_closed"
    opens_next_at = datetime.fromisoformat(response.json()["opens_next_at"])
    assert (opens_next_at - start).days == 7


async def test_switch_off_has_no_opening(client: httpx.AsyncClient, session: AsyncSession) -> None:
    shop = await make_shop(session, client, is_open=False)

    response = await client.post(shop.orders_url, json=pickup_body(shop.menu), headers=shop.headers)

    assert response.status_code == 409, response.text
    assert response.json()["code"] == "store_closed"
    assert response.json()["opens_next_at"] is None


async def test_bot_names_next_opening(session: AsyncSession, settings: Settings) -> None:
    chat, _ = await open_chat(session, settings)
    later, start, _ = range_from_now(chat.store.time_zone, 120, 60)
    await _add_range(session, chat.store, later)

    reply = await chat.one(await chat.text("oi"))

    assert kind_of(reply) == "text"
    expected = _when(SAO_PAULO, start, "hoje às", "amanhã às")
    assert body_text(reply) == (
        f"*Pizzaria Bella* está fechada agora. 😴 Abrimos de novo {expected}."
    )
    assert await session.scalar(select(func.count()).select_from(Conversation)) == 0


async def test_bot_english_next_opening(session: AsyncSession, settings: Settings) -> None:
    chat, _ = await open_chat(session, settings, language="en", time_zone="Europe/Lisbon")
    later, start, _ = range_from_now("Europe/Lisbon", 120, 60)
    await _add_range(session, chat.store, later)

    reply = await chat.one(await chat.text("hi"))

    expected = _when(ZoneInfo("Europe/Lisbon"), start, "today at", "tomorrow at")
    assert body_text(reply) == f"*Pizzaria Bella* is closed now. 😴 We open again {expected}."


async def test_bot_open_inside_hours(session: AsyncSession, settings: Settings) -> None:
    chat, _ = await open_chat(session, settings)
    current, _, _ = range_from_now(chat.store.time_zone, -60, 180)
    await _add_range(session, chat.store, current)

    reply = await chat.one(await chat.text("oi"))

    assert kind_of(reply) == "list"
    assert "Bem-vindo(a)" in body_text(reply)


async def test_bot_switch_off_keeps_old_reply(session: AsyncSession, settings: Settings) -> None:
    chat, _ = await open_chat(session, settings, is_open=False)

    reply = await chat.one(await chat.text("oi"))

    assert body_text(reply) == (
        "*Pizzaria Bella* está fechada agora. 😴 Tente de novo quando a loja abrir."
    )


def test_describe_opening_wording() -> None:
    cases = [
        ("pt-BR", datetime(2026, 1, 5, 21, 0, tzinfo=UTC), "hoje às 18:00"),
        ("en", datetime(2026, 1, 6, 14, 30, tzinfo=UTC), "tomorrow at 11:30"),
        ("pt-BR", datetime(2026, 1, 9, 21, 0, tzinfo=UTC), "sexta às 18:00"),
        ("en", datetime(2026, 1, 9, 21, 0, tzinfo=UTC), "Friday at 18:00"),
        ("en", datetime(2026, 1, 11, 21, 0, tzinfo=UTC), "Sunday at 18:00"),
        ("pt-BR", datetime(2026, 1, 12, 14, 0, tzinfo=UTC), "segunda, 12/01, às 11:00"),
        ("en", datetime(2026, 1, 12, 14, 0, tzinfo=UTC), "Monday, 01/12, at 11:00"),
    ]
    for language, opens_at, expected in cases:
        described = describe_opening(language, opens_at, MONDAY_MORNING, SAO_PAULO)
        assert described == expected, (language, opens_at)


def test_describe_opening_local_day() -> None:
    # 01:00 UTC on Tuesday is still Monday 22:00 in Sao Paulo.
    late = datetime(2026, 1, 6, 1, 0, tzinfo=UTC)

    assert describe_opening("en", late, MONDAY_MORNING, SAO_PAULO) == "today at 22:00"
