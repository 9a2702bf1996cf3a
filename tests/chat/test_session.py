"""The chat loop between the Graph API simulator and a real Zapora webhook."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import APP_SECRET
from tests.factories import make_store
from zapora.chat.graph_server import GraphServer
from zapora.chat.session import ChatSession, Console, Timing
from zapora.chat.webhook_client import Customer, WebhookClient
from zapora.outbox.models import OutboxMessage, OutboxStatus
from zapora.stores.models import Store
from zapora.whatsapp.models import InboundMessage

WA_ID = "5511955551234"
BEARER = {"Authorization": "Bearer demo-access-token"}
POLL_SECONDS = 0.01
LIST: dict[str, Any] = {
    "messaging_product": "whatsapp",
    "to": WA_ID,
    "type": "interactive",
    "interactive": {
        "type": "list",
        "body": {"text": "Escolha uma pizza"},
        "action": {
            "button": "Ver pizzas",
            "sections": [
                {
                    "title": "Pizzas",
                    "rows": [
                        {"id": "item:1", "title": "Mussarela"},
                        {"id": "item:2", "title": "Calabresa", "description": "R$ 34,00"},
                    ],
                }
            ],
        },
    },
}


@dataclass
class Chat:
    session: ChatSession
    graph: GraphServer
    phone_number_id: str
    lines: asyncio.Queue[str | None]

    async def bot_sends(self, body: dict[str, Any]) -> str:
        """Post a message as Zapora's sender would and return the wamid it got."""
        async with httpx.AsyncClient() as http:
            response = await http.post(
                f"{self.graph.base_url}/{self.phone_number_id}/messages",
                json=body,
                headers=BEARER,
            )
        assert response.status_code == 200, response.text
        message_id: str = response.json()["messages"][0]["id"]
        return message_id


async def _eventually(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / POLL_SECONDS)):
        if condition():
            return
        await asyncio.sleep(POLL_SECONDS)
    raise AssertionError(f"the condition still fails after {seconds} s")


@pytest.fixture
async def chat(client: httpx.AsyncClient, session: AsyncSession) -> AsyncIterator[Chat]:
    store = await make_store(session)
    await session.commit()
    phone_number_id = store.whatsapp_phone_number_id or ""
    customer = Customer(phone_number_id, WA_ID, "Maria")
    webhook = WebhookClient(
        client, base_url="http://testserver", app_secret=APP_SECRET, customer=customer
    )
    async with GraphServer() as graph:
        chat_session = ChatSession(
            webhook,
            graph,
            Console(interactive=False),
            store_name="Pizzaria Teste",
            timing=Timing(reply_timeout=0.3, quiet_period=0.05, status_delay=0.01),
        )
        yield Chat(chat_session, graph, phone_number_id, asyncio.Queue())


async def _stored(session: AsyncSession, message_type: str) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(InboundMessage.payload)
        .where(InboundMessage.wa_id == WA_ID, InboundMessage.type == message_type)
        .order_by(InboundMessage.received_at)
    )
    return list(rows)


async def test_typed_number_answers_latest_list(
    chat: Chat, session: AsyncSession, capsys: pytest.CaptureFixture[str]
) -> None:
    running = asyncio.create_task(chat.session.run(chat.lines))
    list_id = await chat.bot_sends(LIST)
    await _eventually(lambda: chat.session.context_id == list_id)
    await chat.bot_sends({**LIST, "to": "5511900000000"})

    for line in ("2", "/loc -23.5614 -46.6559 Av. Paulista, 1000", None):
        chat.lines.put_nowait(line)
    assert await asyncio.wait_for(running, 10) == 0

    [reply] = await _stored(session, "interactive")
    assert reply["interactive"] == {
        "type": "list_reply",
        "list_reply": {"id": "item:2", "title": "Calabresa", "description": "R$ 34,00"},
    }
    assert reply["context"] == {"id": list_id}
    [location] = await _stored(session, "location")
    assert location["location"] == {
        "latitude": -23.5614,
        "longitude": -46.6559,
        "address": "Av. Paulista, 1000",
    }
    output = capsys.readouterr().out
    assert "Pizzaria Teste:" in output
    assert "    2. Calabresa" in output
    assert "(choosing 'Calabresa')" in output
    assert "(a message to *********0000" in output


async def test_number_after_text_is_text(chat: Chat, session: AsyncSession) -> None:
    running = asyncio.create_task(chat.session.run(chat.lines))
    await chat.bot_sends(LIST)
    text_id = await chat.bot_sends({**LIST, "type": "text", "text": {"body": "Quantas?"}})
    await _eventually(lambda: chat.session.context_id == text_id)

    chat.lines.put_nowait("2")
    chat.lines.put_nowait("/quit")
    assert await asyncio.wait_for(running, 10) == 0

    assert await _stored(session, "interactive") == []
    texts = await _stored(session, "text")
    assert [text["text"]["body"] for text in texts] == ["2"]


async def test_bot_message_reported_read(chat: Chat, session: AsyncSession) -> None:
    # Statuses wait long enough for the sent message to be recorded first, as a sender does.
    chat.session.timing = Timing(reply_timeout=0.3, quiet_period=0.05, status_delay=0.5)
    running = asyncio.create_task(chat.session.run(chat.lines))
    store_id = await session.scalar(
        select(Store.id).where(Store.whatsapp_phone_number_id == chat.phone_number_id)
    )
    assert store_id is not None
    message_id = await chat.bot_sends({**LIST, "type": "text", "text": {"body": "Olá"}})
    session.add(
        OutboxMessage(
            store_id=store_id,
            to=WA_ID,
            body={"type": "text", "text": {"body": "Olá"}},
            status=OutboxStatus.SENT.value,
            graph_message_id=message_id,
        )
    )
    await session.commit()

    async def delivery_status() -> str | None:
        status = await session.scalar(
            select(OutboxMessage.delivery_status).where(
                OutboxMessage.graph_message_id == message_id
            )
        )
        # Ending the read releases SQLite's lock for the webhook's writes.
        await session.rollback()
        return status

    for _ in range(200):
        if await delivery_status() == "read":
            break
        await asyncio.sleep(0.05)
    assert await delivery_status() == "read"
    chat.lines.put_nowait(None)
    assert await asyncio.wait_for(running, 10) == 0
