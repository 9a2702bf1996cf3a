"""Builders for the delivery tests: a store with couriers, orders moved along, fresh reads."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Menu, login, make_menu, make_store, make_user
from tests.orders.builders import make_customer, place_customer_order
from zapora.auth.models import Role, User
from zapora.db import utcnow
from zapora.delivery.models import CourierState, DeliveryOffer
from zapora.orders.models import Fulfilment, Order
from zapora.outbox.models import OutboxMessage
from zapora.stores.models import Store

# Avenida Paulista, São Paulo.
STORE_LATITUDE = -23.5614
STORE_LONGITUDE = -46.6559
# About 550 m and about 3.3 km from the store.
NEAR = (-23.5564, -46.6559)
FAR = (-23.5314, -46.6559)


@dataclass
class S3Server:
    endpoint_url: str
    bucket: str
    client: Any


@dataclass
class Courier:
    user: User
    headers: dict[str, str]

    @property
    def id(self) -> uuid.UUID:
        return self.user.id


@dataclass
class Dispatch:
    store: Store
    menu: Menu
    manager: User
    headers: dict[str, str]
    couriers: list[Courier] = field(default_factory=list)

    @property
    def store_url(self) -> str:
        return f"/api/v1/stores/{self.store.id}"

    def order_url(self, order_id: object) -> str:
        return f"{self.store_url}/orders/{order_id}"


async def make_courier(
    session: AsyncSession, client: httpx.AsyncClient, store: Store, full_name: str
) -> Courier:
    user = await make_user(session, store, Role.COURIER, full_name=full_name)
    await session.commit()
    return Courier(user=user, headers=await login(client, user))


async def make_dispatch(session: AsyncSession, client: httpx.AsyncClient) -> Dispatch:
    store = await make_store(
        session, latitude=STORE_LATITUDE, longitude=STORE_LONGITUDE, courier_offer_seconds=60
    )
    menu = await make_menu(session, store)
    manager = await make_user(session, store, Role.STORE_MANAGER)
    await session.commit()
    dispatch = Dispatch(
        store=store, menu=menu, manager=manager, headers=await login(client, manager)
    )
    for name in ("Ana Souza", "Bruno Lima", "Carla Dias"):
        dispatch.couriers.append(await make_courier(session, client, store, name))
    return dispatch


async def put_on_shift(
    session: AsyncSession, courier: Courier, position: tuple[float, float] | None
) -> None:
    """Arrange a courier on shift at ``position`` (None: no position reported yet)."""
    assert courier.user.store_id is not None
    now = utcnow()
    state = await session.get(CourierState, courier.id)
    if state is None:
        state = CourierState(user_id=courier.id, store_id=courier.user.store_id)
        session.add(state)
    state.on_shift = True
    state.shift_started_at = now
    state.latitude = position[0] if position else None
    state.longitude = position[1] if position else None
    state.position_at = now if position else None
    await session.commit()


async def place_order(
    session: AsyncSession, dispatch: Dispatch, fulfilment: Fulfilment = Fulfilment.DELIVERY
) -> Order:
    """Place a WhatsApp customer's order, so that updates about it reach the outbox."""
    customer = await make_customer(
        session, dispatch.store, wa_id=f"5511{uuid.uuid4().int % 10**9:09d}"
    )
    order = await place_customer_order(session, dispatch.store, dispatch.menu, customer, fulfilment)
    await session.commit()
    return order


async def advance(
    client: httpx.AsyncClient, dispatch: Dispatch, order_id: object, *statuses: str
) -> httpx.Response:
    """Move the order through ``statuses`` as the manager and return the last response."""
    response = None
    for status in statuses:
        response = await client.post(
            f"{dispatch.order_url(order_id)}/transitions",
            json={"status": status},
            headers=dispatch.headers,
        )
        assert response.status_code == 200, response.text
    assert response is not None
    return response


async def make_ready(client: httpx.AsyncClient, dispatch: Dispatch, order_id: object) -> None:
    await advance(client, dispatch, order_id, "accepted", "preparing", "ready")


async def offers_of(session: AsyncSession, order_id: uuid.UUID) -> list[DeliveryOffer]:
    """Read the order's offers in a fresh transaction, oldest first."""
    await session.commit()
    rows = await session.scalars(
        select(DeliveryOffer)
        .where(DeliveryOffer.order_id == order_id)
        .order_by(DeliveryOffer.offered_at)
        .execution_options(populate_existing=True)
    )
    offers = list(rows)
    await session.commit()
    return offers


async def fresh_order(session: AsyncSession, order_id: uuid.UUID) -> Order:
    await session.commit()
    order = await session.scalar(
        select(Order).where(Order.id == order_id).execution_options(populate_existing=True)
    )
    await session.commit()
    assert order is not None
    return order


async def assignment_messages(session: AsyncSession, order_id: uuid.UUID) -> list[OutboxMessage]:
    await session.commit()
    rows = await session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.order_id == order_id, OutboxMessage.kind == "assignment")
        .order_by(OutboxMessage.created_at)
    )
    messages = list(rows)
    await session.commit()
    return messages


async def expire_offer(session: AsyncSession, offer_id: uuid.UUID, at: datetime) -> None:
    """Arrange an offer whose time ran out at ``at``."""
    offer = await session.get(DeliveryOffer, offer_id)
    assert offer is not None
    offer.expires_at = at
    await session.commit()
