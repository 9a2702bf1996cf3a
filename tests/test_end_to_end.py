"""A customer orders on WhatsApp and staff move the order, against a real server process.

``zapora serve`` runs as a subprocess with its in-process sender pointed at the local Graph
API stand-in. The test posts signed webhooks over HTTP, reads the bot's replies where the
Graph API would receive them, answers them, and then works the order through the staff API.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import APP_SECRET
from tests.factories import PASSWORD, make_menu, make_store, make_user
from tests.graph_api import GraphApiStandIn, RecordedRequest
from tests.whatsapp.payloads import (
    button_reply,
    envelope,
    list_reply,
    location_message,
    post_webhook,
    status_event,
    text_message,
)

ZAPORA = str(Path(sys.executable).parent / "zapora")
WA_ID = "551155551234"  # registered without the ninth digit: replies must keep it that way
REPLY_TIMEOUT_SECONDS = 20.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(
    database_url: str, graph_api: GraphApiStandIn, tmp_path: Path, app: object
) -> Iterator[str]:
    """Run ``zapora serve`` on a free port with the sender in-process; yield its base URL."""
    port = _free_port()
    env = {
        **os.environ,
        "ZAPORA_DATABASE_URL": database_url,
        "ZAPORA_WHATSAPP_APP_SECRET": APP_SECRET,
        "ZAPORA_WHATSAPP_TRANSPORT": "cloud",
        "ZAPORA_WHATSAPP_API_BASE_URL": graph_api.url,
        "ZAPORA_RUN_WORKER_IN_PROCESS": "true",
        "ZAPORA_WORKER_POLL_SECONDS": "0.1",
        "ZAPORA_LOG_LEVEL": "WARNING",
    }
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(  # noqa: S603
            [ZAPORA, "serve", "--port", str(port)], env=env, stdout=log, stderr=log
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "server did not start:\n" + log_path.read_text()
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


class Customer:
    """Writes to the store and collects the bot's replies from the Graph API stand-in."""

    def __init__(self, http: httpx.AsyncClient, graph: GraphApiStandIn, phone_id: str) -> None:
        self.http = http
        self.graph = graph
        self.phone_id = phone_id
        self.seen = 0

    async def send(self, item: dict[str, Any]) -> list[RecordedRequest]:
        response = await post_webhook(self.http, envelope(self.phone_id, messages=[item]))
        assert response.status_code == 200, response.text
        return await self.replies()

    async def replies(self) -> list[RecordedRequest]:
        """Wait for the next replies to arrive, then a little longer for any that follow."""
        deadline = time.monotonic() + REPLY_TIMEOUT_SECONDS
        while len(self.graph.requests) == self.seen:
            assert time.monotonic() < deadline, "no reply from the bot"
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        new = self.graph.requests[self.seen :]
        self.seen = len(self.graph.requests)
        for request in new:
            assert request.json["to"] == WA_ID
            assert request.headers["authorization"] == "Bearer store-access-token"
            assert request.path.endswith(f"/{self.phone_id}/messages")
        return new

    async def tap(self, replies: list[RecordedRequest], title: str) -> list[RecordedRequest]:
        """Answer the last interactive reply by the row or button whose title starts so."""
        interactive = replies[-1].json["interactive"]
        if interactive["type"] == "list":
            rows = [row for s in interactive["action"]["sections"] for row in s["rows"]]
            row = next(r for r in rows if r["title"].lower().startswith(title.lower()))
            return await self.send(list_reply(row["id"], row["title"], wa_id=WA_ID))
        buttons = [button["reply"] for button in interactive["action"]["buttons"]]
        button = next(b for b in buttons if b["title"].lower().startswith(title.lower()))
        return await self.send(button_reply(button["id"], button["title"], wa_id=WA_ID))

    async def text(self, body: str) -> list[RecordedRequest]:
        return await self.send(text_message(body, wa_id=WA_ID))


def _text_of(request: RecordedRequest) -> str:
    body = request.json
    if body["type"] == "text":
        return str(body["text"]["body"])
    return str(body["interactive"]["body"]["text"])


def _titles(request: RecordedRequest) -> list[str]:
    interactive = request.json["interactive"]
    if interactive["type"] == "list":
        return [row["title"] for s in interactive["action"]["sections"] for row in s["rows"]]
    return [button["reply"]["title"] for button in interactive["action"]["buttons"]]


async def test_whatsapp_order_reaches_staff(server, graph_api, session):
    store = await make_store(
        session, name="Pizzaria Bella", whatsapp_access_token="store-access-token"
    )
    await make_menu(session, store)
    manager = await make_user(session, store)
    await session.commit()

    async with httpx.AsyncClient(base_url=server, timeout=10) as http:
        customer = Customer(http, graph_api, store.whatsapp_phone_number_id or "")

        replies = await customer.text("Oi")
        assert "Pizzaria Bella" in _text_of(replies[-1])
        assert "Pizzas" in _titles(replies[-1])

        replies = await customer.tap(replies, "Pizzas")
        assert "Margherita" in _titles(replies[-1])
        assert "Calzone" not in _titles(replies[-1])

        replies = await customer.tap(replies, "Margherita")
        replies = await customer.tap(replies, "Large")
        replies = await customer.tap(replies, "Cheese")
        while "Pronto" in _titles(replies[-1]) and "Cheese" in _titles(replies[-1]):
            replies = await customer.tap(replies, "Pronto")
        # The quantity is typed rather than tapped.
        replies = await customer.text("2")
        assert "Finalizar" in _titles(replies[-1])

        replies = await customer.text("finalizar")
        replies = await customer.tap(replies, "Entrega")
        assert replies[-1].json["interactive"]["type"] == "location_request_message"

        replies = await customer.send(
            location_message(-23.5614, -46.6559, address="Av. Paulista, 1000", wa_id=WA_ID)
        )
        replies = await customer.tap(replies, "Dinheiro")
        replies = await customer.text("R$ 150")
        summary = _text_of(replies[-1])
        assert "R$ 103,00" in summary

        replies = await customer.tap(replies, "Confirmar")
        confirmation = _text_of(replies[-1])
        assert "#1" in confirmation
        assert "R$ 103,00" in confirmation

        # Delivery statuses for the confirmation, out of order, leave it at "read".
        confirmation_wamid = replies[-1].wamid or ""
        for status in ("read", "delivered", "sent"):
            event = status_event(confirmation_wamid, status, recipient_id=WA_ID)
            response = await post_webhook(
                http, envelope(store.whatsapp_phone_number_id or "", statuses=[event])
            )
            assert response.status_code == 200

        login = await http.post(
            "/api/v1/auth/login", json={"email": manager.email, "password": PASSWORD}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        listing = await http.get(f"/api/v1/stores/{store.id}/orders", headers=headers)
        assert listing.status_code == 200
        orders = listing.json()["items"]
        assert len(orders) == 1
        order_id = orders[0]["id"]

        detail = (
            await http.get(f"/api/v1/stores/{store.id}/orders/{order_id}", headers=headers)
        ).json()
        assert detail["number"] == 1
        assert detail["status"] == "placed"
        assert detail["subtotal"] == 9800
        assert detail["delivery_fee"] == 500
        assert detail["total"] == 10300
        assert detail["fulfilment"] == "delivery"
        assert detail["latitude"] == pytest.approx(-23.5614)
        assert detail["payment_method"] == "cash"
        assert detail["change_for"] == 15000
        assert detail["lines"][0]["quantity"] == 2
        assert detail["lines"][0]["unit_price"] == 4900

        moved = await http.post(
            f"/api/v1/stores/{store.id}/orders/{order_id}/transitions",
            json={"status": "accepted"},
            headers=headers,
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["status"] == "accepted"

        notice = await customer.replies()
        assert "#1" in _text_of(notice[-1])
        assert "aceito" in _text_of(notice[-1])

        refused = await http.post(
            f"/api/v1/stores/{store.id}/orders/{order_id}/transitions",
            json={"status": "delivered"},
            headers=headers,
        )
        assert refused.status_code == 409
        assert "preparing" in refused.json()["allowed"]
