"""The WhatsApp confirmation of an order paid by PIX carries its "copia e cola" code."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Menu
from tests.whatsapp.test_conversation_support import Chat, body_text, kind_of, open_chat
from zapora.config import Settings
from zapora.orders.models import Order
from zapora.payments.pix import decode

PIX_KEY = "loja@pizzariabella.com.br"


async def _confirm(chat: Chat, menu: Menu, payment: str) -> list[dict[str, object]]:
    """Order two sodas for pickup, pay with ``payment`` and confirm; return the replies."""
    await chat.text("oi")
    await chat.tap(f"item:{menu.soda.id}")
    await chat.tap("qty:2")
    await chat.tap("act:checkout")
    await chat.tap("ful:pickup")
    await chat.tap(f"pay:{payment}")
    return await chat.tap("ok:confirm")


async def test_pix_confirmation_sends_code(session: AsyncSession, settings: Settings):
    chat, menu = await open_chat(
        session, settings, pix_key=PIX_KEY, pix_merchant_city="Florianópolis"
    )

    replies = await _confirm(chat, menu, "pix")

    assert [kind_of(reply) for reply in replies] == ["text", "text"]
    confirmation, code = (body_text(reply) for reply in replies)
    assert "Pedido *#1* recebido! Total: R$ 12,00." in confirmation
    assert "Pague R$ 12,00 com PIX copia e cola" in confirmation
    decoded = decode(code)
    order = await session.scalar(select(Order))
    assert order is not None
    assert decoded.key == PIX_KEY
    assert decoded.amount == order.total == 1200
    assert decoded.merchant_name == "PIZZARIA BELLA"
    assert decoded.merchant_city == "FLORIANOPOLIS"
    assert decoded.txid is not None
    assert decoded.txid.startswith("ZAP1")


async def test_cash_confirmation_has_no_code(session: AsyncSession, settings: Settings):
    chat, menu = await open_chat(
        session, settings, pix_key=PIX_KEY, pix_merchant_city="Florianópolis"
    )
    await chat.text("oi")
    await chat.tap(f"item:{menu.soda.id}")
    await chat.tap("qty:2")
    await chat.tap("act:checkout")
    await chat.tap("ful:pickup")
    await chat.tap("pay:cash")
    await chat.tap("chg:none")

    replies = await chat.tap("ok:confirm")

    texts = [body_text(reply) for reply in replies]
    assert len(texts) == 1
    assert "Pedido *#1* recebido!" in texts[0]
    assert "PIX" not in texts[0]
    assert "br.gov.bcb.pix" not in texts[0]


async def test_pix_without_key_confirms_without_code(session: AsyncSession, settings: Settings):
    chat, menu = await open_chat(session, settings)

    replies = await _confirm(chat, menu, "pix")

    texts = [body_text(reply) for reply in replies]
    assert len(texts) == 1
    assert "Pedido *#1* recebido! Total: R$ 12,00." in texts[0]
    assert "br.gov.bcb.pix" not in texts[0]
    assert await session.scalar(select(Order.payment_method)) == "pix"


async def test_english_store_gets_english_instructions(session: AsyncSession, settings: Settings):
    chat, menu = await open_chat(
        session, settings, language="en", pix_key=PIX_KEY, pix_merchant_city="Recife"
    )

    replies = await _confirm(chat, menu, "pix")

    assert len(replies) == 2
    assert "Pay R$ 12.00 with PIX copy and paste" in body_text(replies[0])
    assert decode(body_text(replies[1])).merchant_city == "RECIFE"
