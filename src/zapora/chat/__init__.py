"""``zapora chat``: a terminal WhatsApp customer for a running Zapora server.

Typed lines go to the server's webhook as signed Cloud API payloads. The bot's replies
come back through a local Graph API simulator that the server must use as
``ZAPORA_WHATSAPP_API_BASE_URL`` with ``ZAPORA_WHATSAPP_TRANSPORT=cloud`` (``make run``
sets both).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

import httpx
import typer

from zapora.chat.graph_server import GraphServer
from zapora.chat.session import HELP, ChatSession, Console, start_stdin_reader
from zapora.chat.webhook_client import Customer, WebhookClient
from zapora.demo import DEMO_GRAPH_PORT
from zapora.observability.logging import mask_phone

__all__ = ["run_chat"]

HTTP_TIMEOUT_SECONDS = 10.0


class ChatStartError(Exception):
    """Raised when the chat cannot start; the message names the fix."""


def run_chat(
    *,
    url: str,
    store_slug: str,
    wa_id: str,
    profile_name: str,
    app_secret: str,
    phone_number_id: str,
    graph_port: int = DEMO_GRAPH_PORT,
    report_statuses: bool = True,
) -> int:
    """Chat as the customer ``wa_id`` with the store's bot at ``url``; return the exit code."""
    # The chat prints its own lines; library logs would interleave with them.
    logging.getLogger().setLevel(logging.WARNING)
    customer = Customer(phone_number_id=phone_number_id, wa_id=wa_id, profile_name=profile_name)
    try:
        return asyncio.run(
            _chat(
                url=url.rstrip("/"),
                store_slug=store_slug,
                customer=customer,
                app_secret=app_secret,
                graph_port=graph_port,
                report_statuses=report_statuses,
            )
        )
    except ChatStartError as exc:
        typer.secho(f"error: {exc}", err=True, fg="red")
        return 1
    except KeyboardInterrupt:
        return 130


async def _chat(
    *,
    url: str,
    store_slug: str,
    customer: Customer,
    app_secret: str,
    graph_port: int,
    report_statuses: bool,
) -> int:
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_SECONDS) as http:
        store_name = await fetch_store_name(http, url, store_slug)
        graph = GraphServer(port=graph_port)
        try:
            await graph.start()
        except OSError as exc:
            raise ChatStartError(
                f"cannot listen on 127.0.0.1:{graph_port} ({exc.strerror}): is another "
                "zapora chat running? Pass --graph-port and point the server's "
                "ZAPORA_WHATSAPP_API_BASE_URL at the same port"
            ) from None
        try:
            client = WebhookClient(http, base_url=url, app_secret=app_secret, customer=customer)
            console = Console(interactive=sys.stdin.isatty())
            console.write(
                f"chatting with {store_name} at {url} as {customer.profile_name} "
                f"({mask_phone(customer.wa_id)}); the bot's messages arrive on "
                f"{graph.base_url}",
                color="bright_black",
            )
            console.write(HELP, color="bright_black")
            session = ChatSession(
                client, graph, console, store_name=store_name, report_statuses=report_statuses
            )
            return await session.run(start_stdin_reader(asyncio.get_running_loop()))
        finally:
            await graph.stop()


async def fetch_store_name(http: httpx.AsyncClient, url: str, store_slug: str) -> str:
    """Check that the server runs and the store exists; return the store's display name."""
    menu_url = f"{url}/api/v1/stores/{store_slug}/menu"
    try:
        response = await http.get(menu_url)
    except httpx.ConnectError:
        raise ChatStartError(f"no Zapora server at {url}; start it with make run") from None
    except httpx.TimeoutException:
        raise ChatStartError(f"GET {menu_url} timed out; check the server log") from None
    if response.status_code == 404:
        raise ChatStartError(
            f"store '{store_slug}' not found at {url}: run zapora seed-demo or pass --store"
        )
    if response.status_code != 200:
        raise ChatStartError(f"GET {menu_url} returned {response.status_code}: {response.text}")
    return _store_name(response.json()) or store_slug


def _store_name(menu: Any) -> str | None:
    store = menu.get("store") if isinstance(menu, dict) else None
    if isinstance(store, dict) and isinstance(store.get("name"), str):
        return str(store["name"])
    return None
