"""Headless load test of a running Zapora with three kinds of users.

    .venv/bin/locust -f bench/locustfile.py --headless -u 30 -r 10 -t 60s \\
        --host http://127.0.0.1:8000

- customers chat with the demo store's bot through signed webhook deliveries,
- staff sign in, poll the newest placed orders and move them along,
- anonymous readers fetch the public menu.

Only a loopback host is accepted. The run stops after ``LOCUST_MAX_SECONDS`` (default 120)
or ``LOCUST_MAX_REQUESTS`` (default 50,000) requests, whichever comes first, even without
``-t``. The webhook secret is ``ZAPORA_WHATSAPP_APP_SECRET``, else the one ``make run`` uses.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import random
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import gevent
from locust import HttpUser, between, events, task
from locust.env import Environment
from locust.runners import Runner

from zapora.demo import (
    DEMO_APP_SECRET,
    DEMO_MANAGER_EMAIL,
    DEMO_MANAGER_PASSWORD,
    DEMO_PHONE_NUMBER_ID,
    DEMO_STORE_SLUG,
)

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_SECONDS = float(os.environ.get("LOCUST_MAX_SECONDS", "120"))
MAX_REQUESTS = int(os.environ.get("LOCUST_MAX_REQUESTS", "50000"))
APP_SECRET = os.environ.get("ZAPORA_WHATSAPP_APP_SECRET") or DEMO_APP_SECRET
# Messages a customer sends, in the order of a usual first visit.
CHAT_SCRIPT = ("oi", "1", "1", "1", "2", "menu", "ajuda")
# The next status of each open status, as staff move an order along.
NEXT_STATUS = {
    "placed": "accepted",
    "accepted": "preparing",
    "preparing": "ready",
    "ready": "out_for_delivery",
    "out_for_delivery": "delivered",
}
_customer_numbers = itertools.count(1)
_request_count = 0
_current_runner: Runner | None = None


@events.test_start.add_listener
def _check_host_and_bound_run(environment: Environment, **_: Any) -> None:
    host = urlsplit(environment.host or "").hostname
    if host not in LOOPBACK_HOSTS:
        raise SystemExit(f"invalid --host {environment.host!r}: use a 127.0.0.1 address")
    global _current_runner
    _current_runner = environment.runner
    if _current_runner is not None:
        gevent.spawn_later(MAX_SECONDS, _stop, _current_runner, "time bound reached")


@events.request.add_listener
def _count_request(**_: Any) -> None:
    global _request_count
    _request_count += 1
    if _request_count == MAX_REQUESTS:
        runner = _current_runner
        if runner is not None:
            gevent.spawn(_stop, runner, "request bound reached")


def _stop(runner: Runner, reason: str) -> None:
    print(f"stopping the load test: {reason}")
    runner.quit()


def signed_delivery(wa_id: str, text: str) -> tuple[bytes, str]:
    """Return a Cloud API delivery of one text message and its X-Hub-Signature-256 value."""
    message = {
        "from": wa_id,
        "id": f"wamid.locust.{uuid.uuid4().hex}",
        "timestamp": str(int(time.time())),
        "type": "text",
        "text": {"body": text},
    }
    value = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": "5511955550000",
            "phone_number_id": DEMO_PHONE_NUMBER_ID,
        },
        "contacts": [{"wa_id": wa_id, "profile": {"name": "Cliente Locust"}}],
        "messages": [message],
    }
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}],
    }
    body = json.dumps(payload, ensure_ascii=True).replace("/", "\\/").encode()
    signature = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return body, f"sha256={signature}"


class Customer(HttpUser):
    """A WhatsApp customer writing to the demo store, a few seconds between messages."""

    weight = 3
    wait_time = between(1, 4)

    def on_start(self) -> None:
        self.wa_id = f"55118{next(_customer_numbers):08d}"
        self.step = 0

    @task
    def send_message(self) -> None:
        body, signature = signed_delivery(self.wa_id, CHAT_SCRIPT[self.step % len(CHAT_SCRIPT)])
        self.step += 1
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signature}
        self.client.post("/webhooks/whatsapp", data=body, headers=headers, name="webhook")


class Staff(HttpUser):
    """A store manager who polls the newest placed orders and moves one along each time."""

    weight = 1
    wait_time = between(2, 5)

    def on_start(self) -> None:
        response = self.client.post(
            "/api/v1/auth/login",
            json={"email": DEMO_MANAGER_EMAIL, "password": DEMO_MANAGER_PASSWORD},
            name="login",
        )
        response.raise_for_status()
        self.headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
        me = self.client.get("/api/v1/auth/me", headers=self.headers, name="me")
        me.raise_for_status()
        self.orders_path = f"/api/v1/stores/{me.json()['store_id']}/orders"

    @task
    def poll_and_move(self) -> None:
        response = self.client.get(
            self.orders_path,
            params={"status": ",".join(NEXT_STATUS), "limit": 20},
            headers=self.headers,
            name="orders",
        )
        if not response.ok:
            return
        items = response.json()["items"]
        if not items:
            return
        order = random.choice(items)  # noqa: S311 - load pattern, not security
        self.client.post(
            f"{self.orders_path}/{order['id']}/transitions",
            json={"status": NEXT_STATUS[order["status"]]},
            headers=self.headers,
            name="order transition",
        )


class MenuReader(HttpUser):
    """Someone opening the store's public menu link."""

    weight = 4
    wait_time = between(0.5, 2)

    @task
    def read_menu(self) -> None:
        self.client.get(f"/api/v1/stores/{DEMO_STORE_SLUG}/menu", name="menu")
