"""The tracking link in the WhatsApp order confirmation, and the page it opens."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.whatsapp.test_conversation_support import body_text, open_chat
from zapora.config import Settings
from zapora.orders.models import Order
from zapora.tracking.service import tracking_url


async def test_confirmation_contains_tracking_link(
    session: AsyncSession, settings: Settings, client: httpx.AsyncClient
) -> None:
    chat, menu = await open_chat(session, settings)
    await chat.text("oi")
    await chat.tap(f"item:{menu.soda.id}")
    await chat.tap("qty:2")
    await chat.tap("act:checkout")
    await chat.tap("ful:pickup")
    await chat.tap("pay:pix")

    placed = body_text(await chat.one(await chat.tap("ok:confirm")))

    order = await session.scalar(select(Order))
    await session.commit()
    assert order is not None
    assert order.tracking_token is not None
    link = f"{settings.public_base_url}/track/{order.tracking_token}"
    assert link == f"http://127.0.0.1:8000/track/{order.tracking_token}"
    assert "Pedido *#1* recebido!" in placed
    assert f"Acompanhe seu pedido: {link}" in placed
    page = await client.get(f"/track/{order.tracking_token}")
    assert page.status_code == 200, page.text
    assert page.json()["order_number"] == 1
    assert page.json()["store_name"] == "Pizzaria Bella"


def test_tracking_url_joins_base_and_token() -> None:
    assert tracking_url("https://shop.example/", "tok") == "https://shop.example/track/tok"
    assert tracking_url("https://shop.example", "tok") == "https://shop.example/track/tok"
