"""POST /webhooks/whatsapp: messages are stored once, senders become customers, replies follow."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from tests.whatsapp.conftest import app_client, count, fetch_all
from tests.whatsapp.payloads import (
    contact,
    dumps,
    envelope,
    media_message,
    message,
    new_message_id,
    post_webhook,
    reaction_message,
    text_message,
    unsupported_message,
)
from zapora.customers.models import Customer
from zapora.outbox.models import OutboxMessage
from zapora.stores.models import Store
from zapora.whatsapp.models import InboundMessage, InboxStatus

WITH_NINTH_DIGIT = "5511955551234"
WITHOUT_NINTH_DIGIT = "551155551234"


async def test_unknown_phone_number_is_ignored(client, store, session_factory):
    payload = envelope("pn-unknown-number", [text_message("Oi")])
    response = await post_webhook(client, payload)
    assert response.status_code == 200
    assert response.json()["messages_stored"] == 0
    assert await count(session_factory, InboundMessage) == 0
    assert await count(session_factory, Customer) == 0


async def test_text_message_is_stored_and_answered(client, store, session_factory):
    payload = envelope(store.whatsapp_phone_number_id, [text_message("Oi")])
    response = await post_webhook(client, payload)

    assert response.status_code == 200
    assert response.json()["messages_stored"] == 1
    [inbound] = await fetch_all(session_factory, InboundMessage)
    assert inbound.store_id == store.id
    assert inbound.type == "text"
    assert inbound.status == InboxStatus.PROCESSED.value
    assert inbound.processed_at is not None
    replies = await fetch_all(session_factory, OutboxMessage)
    assert replies
    assert {reply.to for reply in replies} == {WITH_NINTH_DIGIT}
    assert {reply.customer_id for reply in replies} == {inbound.customer_id}


async def test_wa_id_kept_exactly_as_received(client, store, session_factory):
    payload = envelope(
        store.whatsapp_phone_number_id,
        [
            text_message("Oi", wa_id=WITH_NINTH_DIGIT),
            text_message("Oi", wa_id=WITHOUT_NINTH_DIGIT),
        ],
    )
    response = await post_webhook(client, payload)

    assert response.status_code == 200
    customers = await fetch_all(session_factory, Customer)
    assert sorted(customer.wa_id for customer in customers) == sorted(
        [WITH_NINTH_DIGIT, WITHOUT_NINTH_DIGIT]
    )
    inbound = await fetch_all(session_factory, InboundMessage)
    assert sorted(row.wa_id for row in inbound) == sorted([WITH_NINTH_DIGIT, WITHOUT_NINTH_DIGIT])
    replies = await fetch_all(session_factory, OutboxMessage)
    assert {reply.to for reply in replies} == {WITH_NINTH_DIGIT, WITHOUT_NINTH_DIGIT}


async def test_contact_details_are_stored(client, store, session_factory):
    payload = envelope(
        store.whatsapp_phone_number_id,
        [text_message("Oi")],
        contacts=[contact(name="Maria Teste", user_id="BR.1502576394655843")],
    )
    await post_webhook(client, payload)

    [customer] = await fetch_all(session_factory, Customer)
    assert customer.store_id == store.id
    assert customer.profile_name == "Maria Teste"
    assert customer.business_scoped_user_id == "BR.1502576394655843"
    assert customer.last_message_at is not None


async def test_later_delivery_keeps_known_details(client, store, session_factory):
    first = envelope(
        store.whatsapp_phone_number_id,
        [text_message("Oi", timestamp=1_764_806_500)],
        contacts=[contact(name="Maria Teste", user_id="BR.1502576394655843")],
    )
    older_without_details = envelope(
        store.whatsapp_phone_number_id,
        [text_message("menu", timestamp=1_764_806_400)],
        contacts=[],
    )
    await post_webhook(client, first)
    await post_webhook(client, older_without_details)

    [customer] = await fetch_all(session_factory, Customer)
    assert customer.profile_name == "Maria Teste"
    assert customer.business_scoped_user_id == "BR.1502576394655843"
    assert int(customer.last_message_at.timestamp()) == 1_764_806_500


async def test_several_messages_in_one_post(client, store, session_factory):
    payload = envelope(
        store.whatsapp_phone_number_id,
        [
            text_message("Oi", wa_id=WITH_NINTH_DIGIT),
            text_message("cardapio", wa_id=WITH_NINTH_DIGIT),
            text_message("Oi", wa_id="5521955557777"),
        ],
    )
    response = await post_webhook(client, payload)

    assert response.json()["messages_stored"] == 3
    inbound = await fetch_all(session_factory, InboundMessage)
    assert len(inbound) == 3
    assert {row.status for row in inbound} == {InboxStatus.PROCESSED.value}
    assert await count(session_factory, Customer) == 2
    replies = await fetch_all(session_factory, OutboxMessage)
    assert {reply.to for reply in replies} == {WITH_NINTH_DIGIT, "5521955557777"}


async def test_reactions_stickers_unknown_get_no_reply(client, store, session_factory):
    unknown = message("unknown")
    unknown["errors"] = [{"code": 131051, "title": "Message type unknown"}]
    payload = envelope(
        store.whatsapp_phone_number_id,
        [
            reaction_message(new_message_id(), "👍"),
            media_message("sticker"),
            unsupported_message(),
            unknown,
            message("system", {"body": "User changed number", "type": "user_changed_number"}),
        ],
    )
    response = await post_webhook(client, payload)

    assert response.status_code == 200
    assert response.json()["messages_stored"] == 5
    inbound = await fetch_all(session_factory, InboundMessage)
    assert sorted(row.type for row in inbound) == [
        "reaction",
        "sticker",
        "system",
        "unknown",
        "unsupported",
    ]
    assert {row.status for row in inbound} == {InboxStatus.PROCESSED.value}
    assert await count(session_factory, OutboxMessage) == 0


async def test_malformed_items_skipped_others_stored(client, store, session_factory):
    payload = envelope(
        store.whatsapp_phone_number_id,
        [
            {"id": 12345, "type": "text"},
            {"from": WITH_NINTH_DIGIT, "type": "text", "text": {"body": "no id"}},
            {"id": new_message_id(), "type": "text", "text": {"body": "no sender"}},
            {"from": "9" * 40, "id": new_message_id(), "type": "text", "text": {"body": "x"}},
            text_message("Oi"),
        ],
    )
    response = await post_webhook(client, payload)

    assert response.status_code == 200
    assert response.json()["messages_stored"] == 1
    [inbound] = await fetch_all(session_factory, InboundMessage)
    assert inbound.payload["text"]["body"] == "Oi"


@pytest.mark.parametrize(
    ("wa_id", "message_id"),
    [
        ("\u0665\u0665\u0661\u0661\u0669\u0665\u0665\u0665\u0661\u0662\u0663", None),
        ("+5511955551234", None),
        ("5511 95555 1234", None),
        ("5511955551234", ""),
    ],
)
async def test_sender_and_id_must_be_plain(client, store, session_factory, wa_id, message_id):
    item = text_message("Oi", wa_id=wa_id)
    if message_id is not None:
        item["id"] = message_id
    response = await post_webhook(client, envelope(store.whatsapp_phone_number_id, [item]))

    assert response.status_code == 200
    assert response.json()["messages_stored"] == 0
    assert await count(session_factory, InboundMessage) == 0
    assert await count(session_factory, Customer) == 0


async def test_negative_timestamp_uses_arrival(client, store, session_factory):
    item = text_message("Oi")
    item["timestamp"] = "-1"
    before = datetime.now(UTC)
    response = await post_webhook(client, envelope(store.whatsapp_phone_number_id, [item]))

    assert response.json()["messages_stored"] == 1
    [inbound] = await fetch_all(session_factory, InboundMessage)
    assert inbound.sent_at >= before - timedelta(seconds=1)


async def test_redelivery_has_no_second_effect(client, store, session_factory):
    body = dumps(envelope(store.whatsapp_phone_number_id, [text_message("Oi")]))

    first = await post_webhook(client, body)
    replies_after_first = await count(session_factory, OutboxMessage)
    second = await post_webhook(client, body)

    assert first.json()["messages_stored"] == 1
    assert second.status_code == 200
    assert second.json() == {"messages_stored": 0, "duplicates": 1, "statuses_applied": 0}
    assert await count(session_factory, InboundMessage) == 1
    assert replies_after_first > 0
    assert await count(session_factory, OutboxMessage) == replies_after_first


async def test_concurrent_redelivery_processed_once(client, settings, store, session_factory):
    control = envelope(store.whatsapp_phone_number_id, [text_message("Oi", wa_id="5521955550001")])
    await post_webhook(client, control)
    replies_for_one_message = await count(session_factory, OutboxMessage)
    body = dumps(
        envelope(store.whatsapp_phone_number_id, [text_message("Oi", wa_id="5521955550002")])
    )

    async with app_client(settings) as replica:
        responses = await asyncio.gather(post_webhook(client, body), post_webhook(replica, body))

    assert [response.status_code for response in responses] == [200, 200]
    assert sorted(response.json()["messages_stored"] for response in responses) == [0, 1]
    stored = await fetch_all(
        session_factory, InboundMessage, InboundMessage.wa_id == "5521955550002"
    )
    assert len(stored) == 1
    assert stored[0].status == InboxStatus.PROCESSED.value
    replies = await count(session_factory, OutboxMessage, OutboxMessage.to == "5521955550002")
    assert replies == replies_for_one_message
    assert await count(session_factory, Customer, Customer.wa_id == "5521955550002") == 1


async def test_changed_number_stops_matching(client, store, session_factory):
    old_number = store.whatsapp_phone_number_id
    async with session_factory() as fresh:
        moved = await fresh.get(Store, store.id)
        moved.whatsapp_phone_number_id = "pn-moved"
        await fresh.commit()

    old = await post_webhook(client, envelope(old_number, [text_message("Oi")]))
    new = await post_webhook(client, envelope("pn-moved", [text_message("Oi")]))

    assert old.json()["messages_stored"] == 0
    assert new.json()["messages_stored"] == 1
    [inbound] = await fetch_all(session_factory, InboundMessage)
    assert inbound.store_id == store.id
    assert await count(session_factory, Customer) == 1


async def test_deleted_store_number_ignored(client, store, session_factory):
    number = store.whatsapp_phone_number_id
    assert (await post_webhook(client, envelope(number, [text_message("Oi")]))).status_code == 200
    async with session_factory() as fresh:
        await fresh.delete(await fresh.get(Store, store.id))
        await fresh.commit()

    response = await post_webhook(client, envelope(number, [text_message("Oi")]))

    assert response.status_code == 200
    assert response.json()["messages_stored"] == 0
    assert await count(session_factory, InboundMessage) == 0
