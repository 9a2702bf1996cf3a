"""Helpers for the conversation tests: a chat driver and WhatsApp limit checks.

``Chat`` calls ``handle_message`` the way the processing pipeline does, commits, and
returns the replies queued in the outbox for that message. Every reply is checked
against the Cloud API limits before it is returned.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Menu, make_menu, make_store
from zapora.config import Settings
from zapora.customers.models import Customer
from zapora.db import utcnow
from zapora.outbox.models import OutboxMessage
from zapora.stores.models import Store
from zapora.whatsapp.conversation import handle_message
from zapora.whatsapp.events import IncomingMessage

WA_ID = "551155551234"  # no ninth digit: replies must go to exactly this id


def check_limits(body: dict[str, Any]) -> None:
    """Assert that a queued Graph API message object respects WhatsApp's limits."""
    assert body["type"] in ("text", "interactive"), body
    if body["type"] == "text":
        assert 0 < len(body["text"]["body"]) <= 4096
        return
    interactive = body["interactive"]
    assert 0 < len(interactive["body"]["text"]) <= 1024, interactive["body"]["text"]
    if "header" in interactive:
        assert len(interactive["header"]["text"]) <= 60
    if "footer" in interactive:
        assert len(interactive["footer"]["text"]) <= 60
    kind = interactive["type"]
    if kind == "list":
        action = interactive["action"]
        assert 0 < len(action["button"]) <= 20
        assert 1 <= len(action["sections"]) <= 10
        rows = [row for section in action["sections"] for row in section["rows"]]
        assert 1 <= len(rows) <= 10, f"{len(rows)} rows"
        assert len({row["id"] for row in rows}) == len(rows)
        for section in action["sections"]:
            assert len(section.get("title", "")) <= 24
        for row in rows:
            assert 0 < len(row["id"]) <= 200
            assert 0 < len(row["title"]) <= 24, row
            assert len(row.get("description", "")) <= 72, row
    elif kind == "button":
        buttons = interactive["action"]["buttons"]
        assert 1 <= len(buttons) <= 3
        titles = [button["reply"]["title"] for button in buttons]
        assert len(set(titles)) == len(titles)
        for button in buttons:
            assert 0 < len(button["reply"]["title"]) <= 20
            assert 0 < len(button["reply"]["id"]) <= 256
    else:
        assert kind == "location_request_message"
        assert interactive["action"] == {"name": "send_location"}


def body_text(body: dict[str, Any]) -> str:
    if body["type"] == "text":
        return str(body["text"]["body"])
    return str(body["interactive"]["body"]["text"])


def kind_of(body: dict[str, Any]) -> str:
    """Return ``text``, ``list``, ``button`` or ``location_request_message``."""
    if body["type"] == "text":
        return "text"
    return str(body["interactive"]["type"])


def option_ids(body: dict[str, Any]) -> list[str]:
    """Return the row ids of a list or the button ids of reply buttons, in order."""
    interactive = body["interactive"]
    if interactive["type"] == "list":
        sections = interactive["action"]["sections"]
        return [row["id"] for section in sections for row in section["rows"]]
    return [button["reply"]["id"] for button in interactive["action"]["buttons"]]


def option_titles(body: dict[str, Any]) -> list[str]:
    interactive = body["interactive"]
    if interactive["type"] == "list":
        sections = interactive["action"]["sections"]
        return [row["title"] for section in sections for row in section["rows"]]
    return [button["reply"]["title"] for button in interactive["action"]["buttons"]]


def row_descriptions(body: dict[str, Any]) -> list[str]:
    sections = body["interactive"]["action"]["sections"]
    return [row.get("description", "") for section in sections for row in section["rows"]]


class Chat:
    """A customer writing to a store, one message at a time."""

    def __init__(
        self, session: AsyncSession, settings: Settings, store: Store, customer: Customer
    ) -> None:
        self.session = session
        self.settings = settings
        self.store = store
        self.customer = customer
        self.seen: set[uuid.UUID] = set()

    async def send(self, message_type: str, **fields: Any) -> list[dict[str, Any]]:
        message = IncomingMessage(
            message_id=f"wamid.{uuid.uuid4().hex}",
            type=message_type,
            sent_at=utcnow(),
            **fields,
        )
        await handle_message(self.session, self.settings, self.store, self.customer, message)
        await self.session.commit()
        rows = await self.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.store_id == self.store.id)
            .order_by(OutboxMessage.created_at)
        )
        new = [row for row in rows if row.id not in self.seen]
        self.seen.update(row.id for row in new)
        for row in new:
            assert row.to == self.customer.wa_id
            assert row.customer_id == self.customer.id
            check_limits(row.body)
        return [row.body for row in new]

    async def text(self, text: str) -> list[dict[str, Any]]:
        return await self.send("text", text=text)

    async def tap(self, reply_id: str, title: str = "") -> list[dict[str, Any]]:
        return await self.send("interactive", reply_id=reply_id, text=title)

    async def location(
        self, latitude: float, longitude: float, **fields: Any
    ) -> list[dict[str, Any]]:
        return await self.send("location", latitude=latitude, longitude=longitude, **fields)

    async def one(self, reply: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Return the only reply, failing when the bot sent several."""
        assert reply is not None
        assert len(reply) == 1, [body_text(body) for body in reply]
        return reply[0]


async def make_customer(
    session: AsyncSession, store: Store, name: str | None = "Maria Teste"
) -> Customer:
    customer = Customer(store_id=store.id, wa_id=WA_ID, profile_name=name)
    session.add(customer)
    await session.flush()
    return customer


async def open_chat(
    session: AsyncSession, settings: Settings, **store_values: object
) -> tuple[Chat, Menu]:
    """Create a store with the test menu and a customer, committed, and a chat between them."""
    store = await make_store(session, name="Pizzaria Bella", **store_values)
    menu = await make_menu(session, store)
    customer = await make_customer(session, store)
    await session.commit()
    return Chat(session, settings, store, customer), menu
