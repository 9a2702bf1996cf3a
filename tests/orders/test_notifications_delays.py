"""The running-late notice: once per order, after the estimate and its grace, never twice."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import event, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.orders.builders import Shop, make_customer, place_customer_order
from zapora.config import Settings
from zapora.db import create_engine, create_session_factory, utcnow
from zapora.orders.delays import notify_late_orders
from zapora.orders.models import UNSETTLED_STATUSES, Fulfilment, Order, OrderStatus
from zapora.outbox.models import OutboxMessage
from zapora.outbox.transports import LogTransport
from zapora.worker import Worker


async def _order_due_at(
    session: AsyncSession, shop: Shop, minutes_ago: float, wa_id: str = "5511955550001"
) -> Order:
    """Place a customer's order whose estimated delivery was ``minutes_ago`` minutes ago."""
    customer = await make_customer(session, shop.store, wa_id)
    order = await place_customer_order(
        session, shop.store, shop.menu, customer, fulfilment=Fulfilment.PICKUP
    )
    order.estimated_delivery_at = utcnow() - timedelta(minutes=minutes_ago)
    await session.commit()
    return order


async def _delay_messages(session: AsyncSession) -> list[OutboxMessage]:
    await session.commit()
    rows = list(await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "delay")))
    await session.commit()
    return rows


def _factory(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    factory: async_sessionmaker[AsyncSession] = app.state.session_factory
    return factory


async def test_late_order_is_told_once(
    app: FastAPI, session: AsyncSession, shop: Shop, settings: Settings
) -> None:
    order = await _order_due_at(session, shop, minutes_ago=settings.delay_notice_grace_minutes + 1)

    assert await notify_late_orders(settings, _factory(app)) == 1
    assert await notify_late_orders(settings, _factory(app)) == 0

    [message] = await _delay_messages(session)
    assert message.order_id == order.id
    assert message.customer_id == order.customer_id
    assert message.body["text"]["body"].startswith(f"Seu pedido #{order.number} está levando")
    await session.refresh(order)
    assert order.delay_notified_at is not None


async def test_order_within_grace_is_not_late(
    app: FastAPI, session: AsyncSession, shop: Shop, settings: Settings
) -> None:
    await _order_due_at(session, shop, minutes_ago=settings.delay_notice_grace_minutes - 1)

    assert await notify_late_orders(settings, _factory(app)) == 0
    assert await _delay_messages(session) == []


@pytest.mark.parametrize(
    "status",
    [
        OrderStatus.DELIVERED,
        OrderStatus.PICKED_UP,
        OrderStatus.CANCELLED,
        OrderStatus.DELIVERY_FAILED,
    ],
)
async def test_settled_order_is_not_late(
    app: FastAPI, session: AsyncSession, shop: Shop, settings: Settings, status: OrderStatus
) -> None:
    order = await _order_due_at(session, shop, minutes_ago=120)
    await session.execute(update(Order).where(Order.id == order.id).values(status=status.value))
    await session.commit()

    assert await notify_late_orders(settings, _factory(app)) == 0
    assert await _delay_messages(session) == []


async def test_order_without_estimate_is_not_late(
    app: FastAPI, session: AsyncSession, shop: Shop, settings: Settings
) -> None:
    order = await _order_due_at(session, shop, minutes_ago=120)
    await session.execute(
        update(Order).where(Order.id == order.id).values(estimated_delivery_at=None)
    )
    await session.commit()

    assert await notify_late_orders(settings, _factory(app)) == 0


async def test_two_workers_tell_each_order_once(
    app: FastAPI, session: AsyncSession, shop: Shop, settings: Settings
) -> None:
    orders = [
        await _order_due_at(session, shop, minutes_ago=60, wa_id=f"551195555000{index}")
        for index in range(3)
    ]
    # A second engine, as a second worker process has.
    engine = create_engine(settings.resolved_database_url)
    try:
        counts = await asyncio.gather(
            notify_late_orders(settings, _factory(app)),
            notify_late_orders(settings, create_session_factory(engine)),
        )
    finally:
        await engine.dispose()

    assert sum(counts) == len(orders)
    messages = await _delay_messages(session)
    assert sorted(str(message.order_id) for message in messages) == sorted(
        str(order.id) for order in orders
    )


async def test_worker_round_queues_and_sends_delay_notice(
    app: FastAPI, session: AsyncSession, shop: Shop, settings: Settings
) -> None:
    await _order_due_at(session, shop, minutes_ago=60)
    worker = Worker(settings, _factory(app), transport=LogTransport())

    await worker.run_once()

    [message] = await _delay_messages(session)
    assert message.status == "sent"


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_late_order_query_can_use_partial_index(
    app: FastAPI, session: AsyncSession, shop: Shop, settings: Settings
) -> None:
    await _order_due_at(session, shop, minutes_ago=settings.delay_notice_grace_minutes + 1)
    queries: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.startswith("SELECT orders.id"):
            queries.append((statement, parameters))

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        await notify_late_orders(settings, _factory(app))
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    [(statement, parameters)] = queries
    async with app.state.engine.connect() as connection:
        # The test table is tiny, so only a plan without sequential scans shows the choice.
        await connection.exec_driver_sql("SET enable_seqscan = off")
        plan = await connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
        lines = [row[0] for row in plan]

    assert any("ix_orders_awaiting_delay_notice" in line for line in lines)


def test_every_status_is_watched_or_settled() -> None:
    settled = {
        OrderStatus.DELIVERED,
        OrderStatus.PICKED_UP,
        OrderStatus.CANCELLED,
        OrderStatus.DELIVERY_FAILED,
    }
    watched = set(UNSETTLED_STATUSES)

    assert watched.isdisjoint(settled)
    # A new status must be placed on one side, or late orders in it go unnoticed.
    assert watched | settled == set(OrderStatus)
