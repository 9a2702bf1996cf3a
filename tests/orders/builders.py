"""Builders for the orders tests: a store with a logged-in manager, bodies, customers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Menu, login, make_menu, make_store, make_user
from zapora.auth.models import User
from zapora.customers.models import Customer
from zapora.orders.models import ActorType, Fulfilment, Order, OrderSource, PaymentMethod
from zapora.orders.placement import OrderDraft, place_order
from zapora.orders.pricing import LineRequest
from zapora.stores.models import Store

# A Brazilian WhatsApp id without the ninth digit, as some older accounts report it.
CUSTOMER_WA_ID = "551155551234"


@dataclass
class Shop:
    store: Store
    menu: Menu
    user: User
    headers: dict[str, str]

    @property
    def orders_url(self) -> str:
        return f"/api/v1/stores/{self.store.id}/orders"

    def order_url(self, order_id: object) -> str:
        return f"{self.orders_url}/{order_id}"


async def make_shop(session: AsyncSession, client: httpx.AsyncClient, **values: object) -> Shop:
    store = await make_store(session, **values)
    menu = await make_menu(session, store)
    user = await make_user(session, store)
    await session.commit()
    return Shop(store=store, menu=menu, user=user, headers=await login(client, user))


def delivery_body(menu: Menu, **overrides: Any) -> dict[str, Any]:
    """Two large pizzas with cheese and a soda, delivered: subtotal 10400, total 10900."""
    body: dict[str, Any] = {
        "lines": [
            {
                "item_id": str(menu.pizza.id),
                "quantity": 2,
                "option_ids": [str(menu.large.id), str(menu.cheese.id)],
                "notes": "well done",
            },
            {"item_id": str(menu.soda.id), "quantity": 1},
        ],
        "fulfilment": "delivery",
        "address_text": "Rua Augusta 100, São Paulo",
        "payment_method": "cash",
        "change_for": 15000,
        "notes": "ring twice",
        "customer_name": "Ana",
        "customer_phone": "+5511955551234",
    }
    body.update(overrides)
    return body


def pickup_body(menu: Menu, **overrides: Any) -> dict[str, Any]:
    """A small pizza for pickup paid by card: subtotal 3000, no delivery fee."""
    body: dict[str, Any] = {
        "lines": [
            {"item_id": str(menu.pizza.id), "quantity": 1, "option_ids": [str(menu.small.id)]}
        ],
        "fulfilment": "pickup",
        "payment_method": "card_on_delivery",
    }
    body.update(overrides)
    return body


async def make_customer(
    session: AsyncSession, store: Store, wa_id: str = CUSTOMER_WA_ID
) -> Customer:
    customer = Customer(store_id=store.id, wa_id=wa_id, profile_name="Ana")
    session.add(customer)
    await session.flush()
    return customer


async def place_customer_order(
    session: AsyncSession,
    store: Store,
    menu: Menu,
    customer: Customer,
    fulfilment: Fulfilment = Fulfilment.DELIVERY,
) -> Order:
    """Place an order the way the WhatsApp conversation does: with a customer and no user."""
    draft = OrderDraft(
        lines=[LineRequest(item_id=menu.pizza.id, quantity=1, option_ids=(menu.large.id,))],
        fulfilment=fulfilment,
        payment_method=PaymentMethod.PIX,
        source=OrderSource.WHATSAPP,
        address_text="Rua Augusta 100" if fulfilment is Fulfilment.DELIVERY else None,
        customer_id=customer.id,
    )
    return await place_order(session, store, draft, actor_type=ActorType.CUSTOMER, actor_id=None)


async def count_orders(session: AsyncSession) -> int:
    """Count every order row in a transaction of its own.

    The fresh transaction reads the API's commits, and ending it releases SQLite's write
    lock, which the fixtures' BEGIN IMMEDIATE takes even for reads.
    """
    await session.commit()
    count = await session.scalar(select(func.count()).select_from(Order))
    await session.commit()
    return int(count or 0)
