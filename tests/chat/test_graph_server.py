"""The Graph API simulator over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from zapora.chat.graph_server import CustomerWindows, GraphServer, RejectedMessage, SentMessage

BEARER = {"Authorization": "Bearer demo-access-token"}
TEXT: dict[str, Any] = {
    "messaging_product": "whatsapp",
    "to": "5511955551234",
    "type": "text",
    "text": {"body": "Olá!"},
}


@pytest.fixture
async def graph() -> AsyncIterator[GraphServer]:
    async with GraphServer() as server:
        yield server


async def test_accepts_text_and_returns_wamid(graph: GraphServer) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{graph.base_url}/100000000000001/messages", json=TEXT, headers=BEARER
        )

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["messaging_product"] == "whatsapp"
    assert answer["contacts"] == [{"input": "5511955551234", "wa_id": "5511955551234"}]
    message_id = answer["messages"][0]["id"]
    assert message_id.startswith("wamid.")
    event = await asyncio.wait_for(graph.events.get(), 5)
    assert event == SentMessage("100000000000001", "5511955551234", TEXT, message_id)


async def test_versioned_path_accepted(graph: GraphServer) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{graph.base_url}/v23.0/100000000000001/messages", json=TEXT, headers=BEARER
        )

    assert response.status_code == 200, response.text
    event = await asyncio.wait_for(graph.events.get(), 5)
    assert isinstance(event, SentMessage)
    assert event.phone_number_id == "100000000000001"


async def test_missing_token_rejected(graph: GraphServer) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{graph.base_url}/100000000000001/messages", json=TEXT)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == 190
    assert graph.events.empty()


async def test_invalid_message_rejected_and_reported(graph: GraphServer) -> None:
    rows = [{"id": f"row:{index}", "title": f"Row {index}"} for index in range(11)]
    body = {
        "messaging_product": "whatsapp",
        "to": "5511955551234",
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": "Escolha"},
            "action": {"button": "Ver", "sections": [{"rows": rows}]},
        },
    }
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{graph.base_url}/100000000000001/messages", json=body, headers=BEARER
        )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 131009
    assert "11 rows" in error["error_data"]["details"]
    event = await asyncio.wait_for(graph.events.get(), 5)
    assert isinstance(event, RejectedMessage)
    assert event.to == "5511955551234"
    assert event.code == 131009


async def test_closed_window_rejects_text_not_template(graph: GraphServer) -> None:
    template = {
        "messaging_product": "whatsapp",
        "to": "5511955551234",
        "type": "template",
        "template": {"name": "order_update", "language": {"code": "pt_BR"}},
    }
    graph.windows.close("5511955551234")
    url = f"{graph.base_url}/100000000000001/messages"
    async with httpx.AsyncClient() as http:
        rejected_text = await http.post(url, json=TEXT, headers=BEARER)
        accepted = await http.post(url, json=template, headers=BEARER)
        graph.windows.customer_wrote("5511955551234")
        reopened = await http.post(url, json=TEXT, headers=BEARER)

    assert rejected_text.status_code == 400
    assert rejected_text.json()["error"]["code"] == 131047
    assert accepted.status_code == 200, accepted.text
    assert reopened.status_code == 200, reopened.text
    rejected_event = await asyncio.wait_for(graph.events.get(), 5)
    assert isinstance(rejected_event, RejectedMessage)
    assert rejected_event.code == 131047
    sent = await asyncio.wait_for(graph.events.get(), 5)
    assert isinstance(sent, SentMessage)
    assert sent.body["type"] == "template"


def test_window_closes_after_its_length() -> None:
    now = [1000.0]
    windows = CustomerWindows(window_seconds=60, clock=lambda: now[0])

    windows.customer_wrote("5511955551234")
    now[0] += 59
    still_open = windows.is_closed("5511955551234")
    now[0] += 1

    assert not still_open
    assert windows.is_closed("5511955551234")
    assert not windows.is_closed("5511900000000")


async def test_invalid_json_rejected(graph: GraphServer) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{graph.base_url}/100000000000001/messages", content=b"{", headers=BEARER
        )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == 100


async def test_mark_as_read_succeeds(graph: GraphServer) -> None:
    body = {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.in"}
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{graph.base_url}/100000000000001/messages", json=body, headers=BEARER
        )

    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert graph.events.empty()


async def test_port_in_use_raises(graph: GraphServer) -> None:
    second = GraphServer(port=graph.port)

    with pytest.raises(OSError, match="in use"):
        await second.start()


async def test_stop_closes_port() -> None:
    server = GraphServer()
    await server.start()
    port = server.port

    await server.stop()

    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
