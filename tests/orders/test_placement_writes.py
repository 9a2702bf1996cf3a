"""How a placement writes its rows: few statements, and an order already in the session."""

from __future__ import annotations

import uuid
from contextlib import AbstractContextManager

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import object_session

from tests.orders.builders import Shop, delivery_body, make_customer, place_customer_order
from tests.sql_log import statements_run
from zapora.audit.models import AuditEntry
from zapora.audit.service import Actor
from zapora.orders.models import Order, OrderEvent, OrderLine, OrderStatus
from zapora.orders.service import change_status


def statements_of(app: FastAPI) -> AbstractContextManager[list[str]]:
    """Collect the SQL of every statement the app runs inside the block."""
    return statements_run(app.state.engine)


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_staff_order_rows_one_statement(
    app: FastAPI, client: httpx.AsyncClient, shop: Shop
) -> None:
    headers = {**shop.headers, "Idempotency-Key": str(uuid.uuid4())}

    with statements_of(app) as statements:
        response = await client.post(
            shop.orders_url, json=delivery_body(shop.menu), headers=headers
        )

    assert response.status_code == 201, response.text
    inserts = [sql for sql in statements if "INSERT INTO" in sql]
    # The idempotency key, then the order, its two lines, its event and the audit entry.
    assert len(inserts) == 2, inserts
    assert "INSERT INTO idempotency_keys" in inserts[0]
    for table in ("orders", "order_lines", "order_events", "audit_log"):
        assert f"INSERT INTO {table} " in inserts[1]


async def test_line_counts_store_returned_lines(client: httpx.AsyncClient, shop: Shop) -> None:
    pizza = {
        "item_id": str(shop.menu.pizza.id),
        "quantity": 1,
        "option_ids": [str(shop.menu.small.id)],
    }
    soda = {"item_id": str(shop.menu.soda.id), "quantity": 3}
    # A statement is built per number of lines: 1, then 3, then 1 again.
    for lines in ([soda], [pizza, soda, soda], [soda]):
        body = delivery_body(shop.menu, lines=lines)
        created = await client.post(shop.orders_url, json=body, headers=shop.headers)
        assert created.status_code == 201, created.text
        read = await client.get(shop.order_url(created.json()["id"]), headers=shop.headers)

        assert read.json() == created.json()
        assert [(line["name"], line["quantity"]) for line in read.json()["lines"]] == [
            ("Margherita" if line is pizza else "Soda", line["quantity"]) for line in lines
        ]


async def test_placed_order_joins_session(session: AsyncSession, shop: Shop) -> None:
    customer = await make_customer(session, shop.store)
    order = await place_customer_order(session, shop.store, shop.menu, customer)

    assert object_session(order) is session.sync_session
    assert not session.new
    assert not session.dirty
    assert [line.position for line in order.lines] == list(range(len(order.lines)))
    changed = await change_status(
        session, shop.store, order.id, OrderStatus.ACCEPTED, actor=Actor.staff(shop.user)
    )
    await session.commit()

    assert changed is order
    assert order.status == OrderStatus.ACCEPTED.value
    assert await session.scalar(select(func.count()).select_from(Order)) == 1
    assert await session.scalar(select(func.count()).select_from(OrderLine)) == len(order.lines)
    statuses = await session.scalars(select(OrderEvent.to_status).order_by(OrderEvent.created_at))
    assert list(statuses) == ["placed", "accepted"]
    actions = await session.scalars(
        select(AuditEntry.action).where(AuditEntry.target_id == str(order.id))
    )
    assert list(actions) == ["order.transitioned"]
