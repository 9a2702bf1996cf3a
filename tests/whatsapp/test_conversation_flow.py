"""Whole conversations from the greeting to a placed order, by taps and by typing."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from tests.whatsapp.test_conversation_support import (
    WA_ID,
    body_text,
    kind_of,
    open_chat,
    option_ids,
    option_titles,
    row_descriptions,
)
from zapora.config import Settings
from zapora.customers.models import CustomerAddress
from zapora.orders.models import Order, OrderEvent
from zapora.whatsapp.models import Conversation


async def test_order_by_taps(session: AsyncSession, settings: Settings) -> None:
    chat, menu = await open_chat(session, settings)

    welcome = await chat.one(await chat.text("Oi"))
    assert kind_of(welcome) == "list"
    assert "Pizzaria Bella" in body_text(welcome)
    assert "Maria Teste" in body_text(welcome)
    assert option_ids(welcome) == [f"cat:{menu.category.id}"]

    items = await chat.one(await chat.tap(f"cat:{menu.category.id}", "Pizzas"))
    assert option_ids(items) == [f"item:{menu.pizza.id}", f"item:{menu.soda.id}", "act:menu"]
    assert row_descriptions(items)[0] == "R$ 30,00"
    assert option_titles(items)[-1] == "‹ Categorias"

    size = await chat.one(await chat.tap(f"item:{menu.pizza.id}", "Margherita"))
    assert kind_of(size) == "button"
    assert option_ids(size) == [f"opt:{menu.small.id}", f"opt:{menu.large.id}"]
    assert "+ R$ 15,00" in body_text(size)

    extras = await chat.one(await chat.tap(f"opt:{menu.large.id}", "Large"))
    assert option_ids(extras) == [f"opt:{menu.cheese.id}", "opt:done"]
    assert option_titles(extras) == ["Cheese", "Pular"]

    quantity = await chat.one(await chat.tap(f"opt:{menu.cheese.id}", "Cheese"))
    assert option_ids(quantity) == ["qty:1", "qty:2", "qty:3"]
    assert "Margherita — R$ 49,00 cada\n↳ Large, Cheese" in body_text(quantity)

    added = await chat.one(await chat.tap("qty:2", "2"))
    assert option_ids(added) == ["act:cart", "act:more", "act:checkout"]
    assert "2x Margherita — R$ 98,00\n↳ Large, Cheese" in body_text(added)
    assert "Subtotal do carrinho: R$ 98,00" in body_text(added)

    fulfilment = await chat.one(await chat.tap("act:checkout", "Finalizar"))
    assert option_ids(fulfilment) == ["ful:delivery", "ful:pickup"]
    assert "R$ 5,00" in body_text(fulfilment)

    address = await chat.one(await chat.tap("ful:delivery", "Entrega"))
    assert kind_of(address) == "location_request_message"

    payment = await chat.one(
        await chat.location(-23.5505, -46.6333, location_name="Casa", location_address="Rua A, 10")
    )
    assert option_ids(payment) == ["pay:cash", "pay:card_on_delivery", "pay:pix"]
    assert "Entrega em: Casa, Rua A, 10" in body_text(payment)
    assert "R$ 103,00" in body_text(payment)

    summary = await chat.one(await chat.tap("pay:pix", "PIX"))
    assert option_ids(summary) == ["ok:confirm", "ok:cancel"]
    summary_text = body_text(summary)
    assert "2x Margherita — R$ 98,00\n↳ Large, Cheese" in summary_text
    assert "Subtotal: R$ 98,00" in summary_text
    assert "Taxa de entrega: R$ 5,00" in summary_text
    assert "Total: R$ 103,00" in summary_text
    assert "Pagamento: PIX" in summary_text

    placed = await chat.one(await chat.tap("ok:confirm", "Confirmar"))
    assert kind_of(placed) == "text"
    assert "#1" in body_text(placed)
    assert "R$ 103,00" in body_text(placed)

    order = await session.scalar(
        select(Order).where(Order.store_id == chat.store.id).options(selectinload(Order.lines))
    )
    assert order is not None
    assert order.number == 1
    assert order.total == 10300
    assert order.delivery_fee == 500
    assert order.source == "whatsapp"
    assert order.fulfilment == "delivery"
    assert order.payment_method == "pix"
    assert order.change_for is None
    assert order.latitude == -23.5505
    assert order.longitude == -46.6333
    assert order.address_text == "Casa, Rua A, 10"
    assert order.customer_id == chat.customer.id
    assert order.customer_phone == WA_ID
    assert order.customer_name == "Maria Teste"
    assert [(line.name, line.quantity, line.unit_price) for line in order.lines] == [
        ("Margherita", 2, 4900)
    ]
    assert [option["name"] for option in order.lines[0].options] == ["Large", "Cheese"]
    event = await session.scalar(select(OrderEvent).where(OrderEvent.order_id == order.id))
    assert event is not None
    assert event.actor_type == "customer"
    assert event.actor_id == chat.customer.id

    saved = list(await session.scalars(select(CustomerAddress)))
    assert [(address.latitude, address.longitude) for address in saved] == [(-23.5505, -46.6333)]
    conversation = await session.scalar(select(Conversation))
    assert conversation is not None
    assert conversation.state == "idle"
    assert conversation.data["cart"] == []


async def test_order_by_typing(session: AsyncSession, settings: Settings) -> None:
    chat, menu = await open_chat(session, settings)

    assert option_ids(await chat.one(await chat.text("cardápio"))) == [f"cat:{menu.category.id}"]
    items = await chat.one(await chat.text("1"))
    assert option_ids(items)[0] == f"item:{menu.pizza.id}"
    size = await chat.one(await chat.text("1"))
    assert "Size" in body_text(size)
    extras = await chat.one(await chat.text("2"))
    assert option_titles(extras) == ["Cheese", "Pular"]
    quantity = await chat.one(await chat.text("PULAR"))
    assert "Margherita — R$ 45,00 cada\n↳ Large" in body_text(quantity)
    added = await chat.one(await chat.text("3"))
    assert "3x Margherita — R$ 135,00\n↳ Large" in body_text(added)

    await chat.text("adicionar mais")
    await chat.text("pizzas")
    await chat.text("soda")
    await chat.text("1")

    cart = await chat.one(await chat.text("CARRINHO"))
    assert "3x Margherita — R$ 135,00\n↳ Large" in body_text(cart)
    assert "1x Soda — R$ 6,00" in body_text(cart)
    assert "Subtotal: R$ 141,00" in body_text(cart)

    fulfilment = await chat.one(await chat.text("Finalizar"))
    assert option_ids(fulfilment) == ["ful:delivery", "ful:pickup"]
    payment = await chat.one(await chat.text("2"))
    assert "R$ 141,00" in body_text(payment)
    change = await chat.one(await chat.text("dinheiro"))
    assert option_ids(change) == ["chg:none"]
    summary = await chat.one(await chat.text("R$ 200"))
    assert "Retirada na loja" in body_text(summary)
    assert "troco para R$ 200,00" in body_text(summary)
    placed = await chat.one(await chat.text("sim"))
    assert "#1" in body_text(placed)

    order = await session.scalar(select(Order).where(Order.store_id == chat.store.id))
    assert order is not None
    assert order.fulfilment == "pickup"
    assert order.payment_method == "cash"
    assert order.change_for == 20000
    assert order.delivery_fee == 0
    assert order.total == 14100
    assert order.address_text is None


async def test_second_order_offers_saved_address(session: AsyncSession, settings: Settings) -> None:
    chat, menu = await open_chat(session, settings)
    await chat.text("oi")
    await chat.tap(f"item:{menu.soda.id}")
    await chat.tap("qty:2")
    await chat.tap("act:checkout")
    address_prompt = await chat.one(await chat.tap("ful:delivery"))
    assert kind_of(address_prompt) == "location_request_message"

    retry = await chat.one(await chat.text("abc"))
    assert "Não consegui usar esse endereço" in body_text(retry)
    assert kind_of(retry) == "location_request_message"

    payment = await chat.one(await chat.text("Rua das Flores, 123 - Centro"))
    assert "Entrega em: Rua das Flores, 123 - Centro" in body_text(payment)
    await chat.tap("pay:card_on_delivery")
    placed = await chat.one(await chat.tap("ok:confirm"))
    assert "#1" in body_text(placed)

    await chat.text("menu")
    await chat.tap(f"item:{menu.soda.id}")
    await chat.tap("qty:2")
    await chat.tap("act:checkout")
    offer = await chat.one(await chat.tap("ful:delivery"))
    assert option_ids(offer) == ["addr:saved"]
    assert "Rua das Flores, 123 - Centro" in body_text(offer)
    await chat.text("1")
    summary = await chat.one(await chat.tap("pay:card_on_delivery"))
    assert "Cartão na entrega" in body_text(summary)
    await chat.tap("ok:confirm")

    orders = list(await session.scalars(select(Order).order_by(Order.number)))
    assert [order.address_text for order in orders] == ["Rua das Flores, 123 - Centro"] * 2
    assert [order.latitude for order in orders] == [None, None]
    addresses = list(await session.scalars(select(CustomerAddress)))
    assert len(addresses) == 1
