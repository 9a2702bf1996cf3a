"""Customers and staff who use a running cluster over HTTP, through nginx only.

Customers post signed webhooks as Meta does, redelivering a webhook until it gets a 200,
and read the bot's replies where the workers send them: the Graph API stand-in's record
file. Staff log in and move orders along, checking the order again when a request's
replica died before it responded.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.whatsapp.payloads import (
    WEBHOOK_PATH,
    button_reply,
    dumps,
    envelope,
    list_reply,
    sign,
    text_message,
)
from zapora.cluster.graph import GraphRecord
from zapora.demo import (
    DEMO_APP_SECRET,
    DEMO_MANAGER_EMAIL,
    DEMO_MANAGER_PASSWORD,
    DEMO_PHONE_NUMBER_ID,
)

REPLY_TIMEOUT_SECONDS = 30.0
RETRY_PAUSE_SECONDS = 0.2
MAX_SENDS = 60
FEED_POLL_SECONDS = 0.1
# Statuses nginx returns when the replica it chose died with the request in flight.
UPSTREAM_FAILURES = frozenset({502, 503, 504})
PICKUP_STEPS = ("accepted", "preparing", "ready", "picked_up")


class GraphFeed:
    """Read the stand-in's record file as it grows and file each record by recipient."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.by_recipient: dict[str, list[GraphRecord]] = defaultdict(list)
        self._offset = 0
        self._pending = b""

    async def run(self) -> None:
        """Poll the file until cancelled."""
        while True:
            self.read_new()
            await asyncio.sleep(FEED_POLL_SECONDS)

    def read_new(self) -> None:
        try:
            with self.path.open("rb") as records:
                records.seek(self._offset)
                chunk = records.read()
        except FileNotFoundError:
            return
        self._offset += len(chunk)
        lines = (self._pending + chunk).split(b"\n")
        self._pending = lines.pop()
        for line in lines:
            if line:
                record = GraphRecord(**json.loads(line))
                self.by_recipient[record.to or ""].append(record)


@dataclass
class WebhookLog:
    """Every message id posted to the webhook, in order.

    ``milestone_reached`` is set once ``milestone`` distinct messages were posted.
    """

    milestone: int = 0
    message_ids: list[str] = field(default_factory=list)
    milestone_reached: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, message_id: str) -> None:
        self.message_ids.append(message_id)
        if len(self.message_ids) >= self.milestone:
            self.milestone_reached.set()


async def post_signed(http: httpx.AsyncClient, item: dict[str, Any], log: WebhookLog) -> None:
    """Post one message until it gets a 200, as Meta redelivers a failed webhook."""
    body = dumps(envelope(DEMO_PHONE_NUMBER_ID, messages=[item]))
    headers = {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": sign(body, DEMO_APP_SECRET),
    }
    log.add(item["id"])
    for _ in range(MAX_SENDS):
        try:
            response = await http.post(WEBHOOK_PATH, content=body, headers=headers)
        except httpx.TransportError:
            response = None
        if response is not None and response.status_code == 200:
            return
        if response is not None and response.status_code not in UPSTREAM_FAILURES:
            raise AssertionError(f"webhook returned {response.status_code}: {response.text}")
        await asyncio.sleep(RETRY_PAUSE_SECONDS)
    raise AssertionError(f"webhook {item['id']} got no 200 in {MAX_SENDS} posts")


def options(body: dict[str, Any]) -> list[tuple[str, str]]:
    """Return the (id, title) of each list row or reply button of a message."""
    if body.get("type") != "interactive":
        return []
    interactive = body["interactive"]
    if interactive["type"] == "list":
        sections = interactive["action"]["sections"]
        return [(row["id"], row["title"]) for section in sections for row in section["rows"]]
    if interactive["type"] == "button":
        return [(b["reply"]["id"], b["reply"]["title"]) for b in interactive["action"]["buttons"]]
    return []


def body_text(body: dict[str, Any]) -> str:
    """Return the text of a text or interactive message, and "" for other types."""
    if body.get("type") == "text":
        return str(body["text"]["body"])
    if body.get("type") == "interactive":
        return str(body["interactive"]["body"]["text"])
    return ""


def with_option(predicate: Callable[[str, str], bool]) -> Callable[[dict[str, Any]], bool]:
    return lambda body: any(predicate(row_id, title) for row_id, title in options(body))


class Customer:
    """A WhatsApp customer ordering ``quantity`` cans for pickup, paying by card."""

    def __init__(
        self, http: httpx.AsyncClient, feed: GraphFeed, log: WebhookLog, wa_id: str, quantity: int
    ) -> None:
        self.http = http
        self.feed = feed
        self.log = log
        self.wa_id = wa_id
        self.quantity = quantity
        self.read = 0
        self.order_number: str | None = None

    async def order(self) -> None:
        """Go from the greeting to a confirmed order, failing on a missing reply."""
        reply = await self.send_and_wait(
            text_message("Oi", wa_id=self.wa_id), has_option("Bebidas")
        )
        reply = await self.tap(reply, "Bebidas", has_option("Coca-Cola lata"))
        reply = await self.tap(reply, "Coca-Cola lata", has_option("qty:"))
        # The quantity is typed rather than tapped, as customers often do.
        typed = text_message(str(self.quantity), wa_id=self.wa_id)
        reply = await self.send_and_wait(typed, has_option("act:checkout"))
        reply = await self.tap(reply, "act:checkout", has_option("ful:pickup"))
        reply = await self.tap(reply, "ful:pickup", has_option("pay:card_on_delivery"))
        reply = await self.tap(reply, "pay:card_on_delivery", has_option("ok:confirm"))
        reply = await self.tap(reply, "ok:confirm", lambda body: "Pedido *#" in body_text(body))
        self.order_number = body_text(reply).split("*#", 1)[1].split("*", 1)[0]

    async def tap(
        self, body: dict[str, Any], choice: str, wanted: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any]:
        """Tap the row or button whose id or title starts with ``choice``."""
        row_id, title = next(
            (row_id, title)
            for row_id, title in options(body)
            if row_id.startswith(choice) or title.startswith(choice)
        )
        builder = list_reply if body["interactive"]["type"] == "list" else button_reply
        return await self.send_and_wait(builder(row_id, title, wa_id=self.wa_id), wanted)

    async def send_and_wait(
        self, item: dict[str, Any], wanted: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any]:
        await post_signed(self.http, item, self.log)
        deadline = time.monotonic() + REPLY_TIMEOUT_SECONDS
        while True:
            received = self.feed.by_recipient[self.wa_id]
            while self.read < len(received):
                record = received[self.read]
                self.read += 1
                if record.accepted and wanted(record.body):
                    return record.body
            if time.monotonic() > deadline:
                texts = [body_text(record.body)[:60] for record in received]
                raise AssertionError(f"no expected reply to {self.wa_id} after {item}: {texts}")
            await asyncio.sleep(FEED_POLL_SECONDS)


def has_option(expected: str) -> Callable[[dict[str, Any]], bool]:
    """Match a message with a row or button titled ``expected`` or whose id starts so."""
    return with_option(lambda row_id, title: row_id.startswith(expected) or title == expected)


class Staff:
    """The demo manager moving every pickup order to picked_up through the staff API."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.headers: dict[str, str] = {}
        self.store_id = ""

    async def log_in(self) -> None:
        credentials = {"email": DEMO_MANAGER_EMAIL, "password": DEMO_MANAGER_PASSWORD}
        response = await self._request("POST", "/api/v1/auth/login", json=credentials)
        self.headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
        me = await self._request("GET", "/api/v1/auth/me")
        self.store_id = me.json()["store_id"]

    async def open_orders(self) -> list[dict[str, Any]]:
        path = f"/api/v1/stores/{self.store_id}/orders"
        params = {"status": ",".join(["placed", *PICKUP_STEPS[:-1]]), "limit": "100"}
        response = await self._request("GET", path, params=params)
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def advance(self, order: dict[str, Any]) -> None:
        """Move an order one step, reading its status again when a replica died mid-request."""
        path = f"/api/v1/stores/{self.store_id}/orders/{order['id']}"
        target = PICKUP_STEPS[(["placed", *PICKUP_STEPS]).index(order["status"])]
        for _ in range(MAX_SENDS):
            try:
                response = await self.http.post(
                    f"{path}/transitions", json={"status": target}, headers=self.headers
                )
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code == 200:
                return
            if response is not None and response.status_code not in (409, *UPSTREAM_FAILURES):
                raise AssertionError(f"transition returned {response.status_code}: {response.text}")
            current = (await self._request("GET", path)).json()["status"]
            if PICKUP_STEPS.index(target) <= _step(current):
                return
            await asyncio.sleep(RETRY_PAUSE_SECONDS)
        raise AssertionError(f"order {order['id']} did not reach {target} in {MAX_SENDS} tries")

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for _ in range(MAX_SENDS):
            try:
                response = await self.http.request(method, path, headers=self.headers, **kwargs)
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code not in UPSTREAM_FAILURES:
                assert response.status_code == 200, f"{method} {path}: {response.text}"
                return response
            await asyncio.sleep(RETRY_PAUSE_SECONDS)
        raise AssertionError(f"{method} {path} got no response in {MAX_SENDS} tries")


def _step(status: str) -> int:
    return PICKUP_STEPS.index(status) if status in PICKUP_STEPS else -1
