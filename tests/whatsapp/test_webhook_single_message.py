"""Deliveries of one message: the plain reading of the body and the one-statement store."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import select, text, update

from tests.whatsapp.conftest import count, fetch_all
from tests.whatsapp.payloads import (
    DEFAULT_WA_ID,
    contact,
    envelope,
    post_webhook,
    text_message,
)
from zapora.customers.models import Customer
from zapora.db import utcnow
from zapora.whatsapp.inbox import commit_delivery
from zapora.whatsapp.models import InboundMessage, InboxStatus
from zapora.whatsapp.payloads import (
    ChangeValue,
    Contact,
    MessageHeader,
    SingleMessage,
    WebhookPayload,
    read_single_message,
)

Mutation = Callable[[dict[str, Any]], Any]


def _value(document: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = document["entry"][0]["changes"][0]["value"]
    return value


def _message(document: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = _value(document)["messages"][0]
    return item


def _document(mutate: Mutation) -> dict[str, Any]:
    """Return a delivery of one text message changed in place by ``mutate``."""
    document = envelope("pn-single", [text_message("Oi", timestamp=1_764_806_400)])
    mutate(document)
    return document


def _model_reading(document: Any) -> SingleMessage | None:
    """Return the delivery's only message as the models of the general path read it."""
    try:
        payload = WebhookPayload.model_validate(document)
        changes = [change for entry in payload.entry for change in entry.changes]
        if len(changes) != 1 or changes[0].field != "messages":
            return None
        value = ChangeValue.model_validate(changes[0].value)
        if value.metadata is None or value.statuses or len(value.messages) != 1:
            return None
        header = MessageHeader.model_validate(value.messages[0])
        contacts = [Contact.model_validate(item) for item in value.contacts]
    except ValidationError:
        return None
    found = None
    for candidate in contacts:
        if header.from_ and candidate.wa_id == header.from_:
            found = candidate
    return SingleMessage(
        phone_number_id=value.metadata.phone_number_id,
        message=value.messages[0],
        id=header.id,
        from_=header.from_,
        from_user_id=header.from_user_id,
        timestamp=header.timestamp,
        type=header.type,
        profile_name=found.profile.name if found and found.profile else None,
        contact_user_id=found.user_id if found else None,
    )


READ_PLAINLY: dict[str, Mutation] = {
    "as sent": lambda document: None,
    "no contacts": lambda document: _value(document).pop("contacts"),
    "contact of another sender": lambda document: _value(document).update(
        contacts=[contact("5521955557777", "Other"), contact(DEFAULT_WA_ID, "Maria")]
    ),
    "contact without profile": lambda document: _value(document).update(
        contacts=[contact(name=None, user_id="BR.1502576394655843")]
    ),
    "empty statuses": lambda document: _value(document).update(statuses=[]),
    "integer timestamp": lambda document: _message(document).update(timestamp=1_764_806_400),
    "no timestamp": lambda document: _message(document).pop("timestamp"),
    "no type": lambda document: _message(document).pop("type"),
    "no sender": lambda document: _message(document).pop("from"),
    "sender user id": lambda document: _message(document).update(from_user_id="BR.15025"),
    "no object": lambda document: document.pop("object"),
    "extra fields": lambda document: _message(document).update(referral={"source_id": 1}),
}

LEFT_TO_MODELS: dict[str, Mutation] = {
    "object not text": lambda document: document.update(object=1),
    "entry id a number": lambda document: document["entry"][0].update(id=102290129340398),
    "two entries": lambda document: document.update(entry=document["entry"] * 2),
    "entry not a list": lambda document: document.update(entry=document["entry"][0]),
    "two changes": lambda document: document["entry"][0].update(
        changes=document["entry"][0]["changes"] * 2
    ),
    "statuses field": lambda document: document["entry"][0]["changes"][0].update(field="statuses"),
    "value null": lambda document: document["entry"][0]["changes"][0].update(value=None),
    "statuses null": lambda document: _value(document).update(statuses=None),
    "a status as well": lambda document: _value(document).update(
        statuses=[{"id": "wamid.sent", "status": "read"}]
    ),
    "no metadata": lambda document: _value(document).pop("metadata"),
    "phone number id a number": lambda document: _value(document)["metadata"].update(
        phone_number_id=100000000000001
    ),
    "display number a number": lambda document: _value(document)["metadata"].update(
        display_phone_number=5511955550000
    ),
    "contacts null": lambda document: _value(document).update(contacts=None),
    "contact not an object": lambda document: _value(document).update(contacts=["Maria"]),
    "contact wa_id a number": lambda document: _value(document).update(
        contacts=[{"wa_id": 5511955551234, "profile": {"name": "Maria"}}]
    ),
    "contact user id a number": lambda document: _value(document).update(
        contacts=[{"wa_id": DEFAULT_WA_ID, "user_id": 15025}]
    ),
    "profile not an object": lambda document: _value(document).update(
        contacts=[{"wa_id": DEFAULT_WA_ID, "profile": "Maria"}]
    ),
    "profile name a number": lambda document: _value(document).update(
        contacts=[{"wa_id": DEFAULT_WA_ID, "profile": {"name": 7}}]
    ),
    "two messages": lambda document: _value(document).update(
        messages=_value(document)["messages"] * 2
    ),
    "message not an object": lambda document: _value(document).update(messages=["Oi"]),
    "id a number": lambda document: _message(document).update(id=12345),
    "sender a number": lambda document: _message(document).update({"from": 5511955551234}),
    "sender under the field name": lambda document: _message(document).update(from_=DEFAULT_WA_ID),
    "sender user id a number": lambda document: _message(document).update(from_user_id=1),
    "fractional timestamp": lambda document: _message(document).update(timestamp=1.5),
    "whole float timestamp": lambda document: _message(document).update(timestamp=1_764_806_400.0),
    "true timestamp": lambda document: _message(document).update(timestamp=True),
    "type null": lambda document: _message(document).update(type=None),
}


@pytest.mark.parametrize("mutate", READ_PLAINLY.values(), ids=READ_PLAINLY.keys())
def test_plain_reading_equals_models(mutate: Mutation) -> None:
    document = _document(mutate)

    single = read_single_message(document)

    assert single is not None
    assert single == _model_reading(document)


@pytest.mark.parametrize("mutate", LEFT_TO_MODELS.values(), ids=LEFT_TO_MODELS.keys())
def test_other_shapes_left_to_models(mutate: Mutation) -> None:
    assert read_single_message(_document(mutate)) is None


@pytest.mark.parametrize("document", [None, "Oi", 1, [], [_document(lambda document: None)]])
def test_other_documents_left_to_models(document: Any) -> None:
    assert read_single_message(document) is None


async def test_integers_beyond_64_bits_stored_exactly(client, store, session_factory):
    item = text_message("Oi")
    item["referral"] = {"large": 2**100, "negative": -(2**63) - 1, "small": 7}

    response = await post_webhook(client, envelope(store.whatsapp_phone_number_id, [item]))

    assert response.json()["messages_stored"] == 1
    [inbound] = await fetch_all(session_factory, InboundMessage)
    assert inbound.payload["referral"] == {"large": 2**100, "negative": -(2**63) - 1, "small": 7}


async def _wait_for_lock_wait(session_factory) -> None:
    async with session_factory() as observer:
        for _ in range(500):
            waiting = await observer.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted"))
            await observer.rollback()
            if waiting:
                return
            await asyncio.sleep(0.01)
    pytest.fail("the delivery never waited for a lock")


# PostgreSQL only: SQLite takes its write lock at BEGIN, so two transactions never deadlock.
@pytest.mark.parametrize("backend", ["postgresql"])
async def test_deadlocked_single_message_is_retried(backend, client, store, session_factory):
    await post_webhook(client, envelope(store.whatsapp_phone_number_id, [text_message("Oi")]))
    customer_id = await _only_customer_id(session_factory)
    item = text_message("menu")

    async with session_factory() as blocker:
        # The delivery's own deadlock check runs first, so the delivery is the one aborted.
        await blocker.execute(text("SET LOCAL deadlock_timeout = '10s'"))
        blocker.add(_inbound_row(store.id, customer_id, item["id"]))
        await blocker.flush()
        delivery = asyncio.create_task(
            post_webhook(client, envelope(store.whatsapp_phone_number_id, [item]))
        )
        # The delivery has locked the customer's row and waits for the uncommitted message id.
        await _wait_for_lock_wait(session_factory)
        await blocker.execute(
            update(Customer).where(Customer.id == customer_id).values(profile_name="held")
        )
        await blocker.commit()
        response = await delivery

    assert response.status_code == 200
    assert response.json() == {"messages_stored": 0, "duplicates": 1, "statuses_applied": 0}
    assert (
        await count(session_factory, InboundMessage, InboundMessage.message_id == item["id"]) == 1
    )


async def _only_customer_id(session_factory) -> Any:
    async with session_factory() as fresh:
        return (await fresh.execute(select(Customer.id))).scalar_one()


def _inbound_row(store_id: Any, customer_id: Any, message_id: str) -> InboundMessage:
    return InboundMessage(
        store_id=store_id,
        message_id=message_id,
        wa_id=DEFAULT_WA_ID,
        customer_id=customer_id,
        type="text",
        payload={"text": {"body": "held"}},
        sent_at=utcnow(),
        status=InboxStatus.PROCESSED.value,
    )


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_cancelled_delivery_frees_its_connection(backend, client, store, session_factory):
    await post_webhook(client, envelope(store.whatsapp_phone_number_id, [text_message("Oi")]))
    customer_id = await _only_customer_id(session_factory)
    engine = session_factory.kw["bind"]

    async with session_factory() as blocker:
        # The delivery's customer upsert waits for this row lock until it is cancelled.
        await blocker.execute(
            update(Customer).where(Customer.id == customer_id).values(profile_name="held")
        )
        delivery = asyncio.create_task(
            commit_delivery(
                session_factory, envelope(store.whatsapp_phone_number_id, [text_message("x")])
            )
        )
        await _wait_for_lock_wait(session_factory)
        delivery.cancel()
        with pytest.raises(asyncio.CancelledError):
            await delivery
        await blocker.rollback()

    # The pool hands out its idle connections in turn, so this reaches every one of them.
    for _ in range(engine.pool.checkedin() + 1):
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT 1")) == 1
