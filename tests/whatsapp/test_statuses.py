"""Delivery statuses from the webhook update our outbox rows and never move backwards."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, text, update

from tests.factories import make_store
from tests.whatsapp.conftest import app_client, fetch_all
from tests.whatsapp.payloads import envelope, new_message_id, post_webhook, status_event
from zapora.outbox.models import OutboxMessage, OutboxStatus

SENT_AT = 1_764_806_400


async def _sent_message(session, store) -> OutboxMessage:
    message = OutboxMessage(
        store_id=store.id,
        to="5511955551234",
        body={"type": "text", "text": {"body": "Seu pedido saiu para entrega"}},
        status=OutboxStatus.SENT.value,
        graph_message_id=new_message_id(),
    )
    session.add(message)
    await session.commit()
    return message


async def _reload(session_factory, message) -> OutboxMessage:
    [row] = await fetch_all(session_factory, OutboxMessage, OutboxMessage.id == message.id)
    return row


async def _post_statuses(client, store, *statuses):
    response = await post_webhook(
        client, envelope(store.whatsapp_phone_number_id, statuses=statuses)
    )
    assert response.status_code == 200
    return response


async def test_statuses_move_forwards(client, session, store, session_factory):
    sent = await _sent_message(session, store)
    graph_id = sent.graph_message_id

    for offset, status in enumerate(["sent", "delivered", "read"]):
        await _post_statuses(
            client, store, status_event(graph_id, status, timestamp=SENT_AT + offset)
        )
        row = await _reload(session_factory, sent)
        assert row.delivery_status == status
        assert int(row.delivery_status_at.timestamp()) == SENT_AT + offset


@pytest.mark.parametrize(
    "order",
    [["read", "delivered", "sent"], ["delivered", "sent"], ["read", "sent", "delivered"]],
    ids=["read-first", "delivered-first", "read-then-mixed"],
)
async def test_statuses_out_of_order_never_regress(client, session, store, session_factory, order):
    sent = await _sent_message(session, store)
    stamps = {"sent": SENT_AT, "delivered": SENT_AT + 1, "read": SENT_AT + 2}

    for status in order:
        await _post_statuses(
            client, store, status_event(sent.graph_message_id, status, timestamp=stamps[status])
        )

    best = max(order, key=["sent", "delivered", "read"].index)
    row = await _reload(session_factory, sent)
    assert row.delivery_status == best
    assert int(row.delivery_status_at.timestamp()) == stamps[best]


async def test_statuses_unordered_in_one_post(client, session, store, session_factory):
    sent = await _sent_message(session, store)
    graph_id = sent.graph_message_id

    response = await _post_statuses(
        client,
        store,
        status_event(graph_id, "read", timestamp=SENT_AT + 2),
        status_event(graph_id, "sent", timestamp=SENT_AT),
        status_event(graph_id, "delivered", timestamp=SENT_AT + 1),
    )

    assert response.json()["statuses_applied"] == 1
    row = await _reload(session_factory, sent)
    assert row.delivery_status == "read"


async def test_failed_status_records_error(client, session, store, session_factory):
    sent = await _sent_message(session, store)

    await _post_statuses(
        client,
        store,
        status_event(
            sent.graph_message_id,
            "failed",
            error_code=131026,
            error_title="Message undeliverable",
        ),
    )

    row = await _reload(session_factory, sent)
    assert row.delivery_status == "failed"
    assert row.error_code == 131026
    assert row.error_message == "Message undeliverable"


async def test_status_after_failed_is_ignored(client, session, store, session_factory):
    sent = await _sent_message(session, store)
    graph_id = sent.graph_message_id

    await _post_statuses(client, store, status_event(graph_id, "failed", error_code=131026))
    await _post_statuses(client, store, status_event(graph_id, "delivered"))

    row = await _reload(session_factory, sent)
    assert row.delivery_status == "failed"
    assert row.error_code == 131026


async def test_status_for_unknown_message_ignored(client, session, store, session_factory):
    sent = await _sent_message(session, store)

    response = await _post_statuses(
        client,
        store,
        status_event(new_message_id(), "read"),
        status_event(sent.graph_message_id, "deleted"),
    )

    assert response.json()["statuses_applied"] == 0
    row = await _reload(session_factory, sent)
    assert row.delivery_status is None


async def test_status_on_other_stores_number_ignored(client, session, store, session_factory):
    other_store = await make_store(session)
    await session.commit()
    sent = await _sent_message(session, store)

    response = await _post_statuses(
        client, other_store, status_event(sent.graph_message_id, "read")
    )

    assert response.json()["statuses_applied"] == 0
    row = await _reload(session_factory, sent)
    assert row.delivery_status is None


async def test_concurrent_statuses_never_regress(client, settings, session, store, session_factory):
    sent = await _sent_message(session, store)
    graph_id = sent.graph_message_id
    read = envelope(store.whatsapp_phone_number_id, statuses=[status_event(graph_id, "read")])
    delivered = envelope(
        store.whatsapp_phone_number_id, statuses=[status_event(graph_id, "delivered")]
    )

    async with app_client(settings) as replica:
        responses = await asyncio.gather(
            post_webhook(client, read), post_webhook(replica, delivered)
        )

    assert [response.status_code for response in responses] == [200, 200]
    row = await _reload(session_factory, sent)
    assert row.delivery_status == "read"


async def test_opposite_order_statuses_all_succeed(
    client, settings, session, store, session_factory
):
    phone_number_id = store.whatsapp_phone_number_id
    messages = []
    async with app_client(settings) as replica:
        for trial in range(20):
            batch = [await _sent_message(session, store) for _ in range(8)]
            messages += batch
            graph_ids = [message.graph_message_id for message in batch]
            forwards = [status_event(graph_id, "delivered") for graph_id in graph_ids]
            backwards = [status_event(graph_id, "read") for graph_id in reversed(graph_ids)]
            responses = await asyncio.gather(
                post_webhook(client, envelope(phone_number_id, statuses=forwards)),
                post_webhook(replica, envelope(phone_number_id, statuses=backwards)),
            )
            assert [response.status_code for response in responses] == [200, 200], trial

    rows = [await _reload(session_factory, message) for message in messages]
    assert {row.delivery_status for row in rows} == {"read"}


async def _wait_for_lock_wait(session_factory) -> None:
    """Return once some transaction waits for a row lock; fail after about five seconds."""
    async with session_factory() as observer:
        for _ in range(500):
            waiting = await observer.scalar(
                select(func.count()).select_from(text("pg_locks")).where(text("NOT granted"))
            )
            await observer.rollback()
            if waiting:
                return
            await asyncio.sleep(0.01)
    pytest.fail("the delivery never waited for the row lock")


# PostgreSQL only: SQLite takes its write lock at BEGIN, so two transactions never deadlock.
@pytest.mark.parametrize("backend", ["postgresql"])
async def test_deadlocked_delivery_is_retried(backend, client, session, store, session_factory):
    first, second = sorted(
        [await _sent_message(session, store) for _ in range(2)],
        key=lambda message: message.graph_message_id,
    )
    statuses = [status_event(message.graph_message_id, "read") for message in (first, second)]

    async with session_factory() as blocker:
        # The delivery's own deadlock check runs first, so the delivery is the one aborted.
        await blocker.execute(text("SET LOCAL deadlock_timeout = '10s'"))
        await blocker.execute(
            update(OutboxMessage).where(OutboxMessage.id == second.id).values(error_message="held")
        )
        delivery = asyncio.create_task(
            post_webhook(client, envelope(store.whatsapp_phone_number_id, statuses=statuses))
        )
        # The delivery has updated the first message and waits for the second one.
        await _wait_for_lock_wait(session_factory)
        await blocker.execute(
            update(OutboxMessage).where(OutboxMessage.id == first.id).values(error_message="held")
        )
        await blocker.commit()
        response = await delivery

    assert response.status_code == 200
    assert response.json()["statuses_applied"] == 2
    rows = [await _reload(session_factory, message) for message in (first, second)]
    assert [row.delivery_status for row in rows] == ["read", "read"]
    assert [row.error_message for row in rows] == ["held", "held"]
