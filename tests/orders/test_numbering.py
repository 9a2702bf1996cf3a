"""Order numbers: unique per store, and on PostgreSQL taken outside the order's transaction."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from structlog.testing import capture_logs

from tests.factories import make_menu, make_store
from tests.orders.builders import Shop, make_customer, pickup_body, place_customer_order
from tests.sql_log import statements_run
from zapora.orders import placement
from zapora.orders.models import OrderCounter
from zapora.stores.models import Store

# A numbering that waits for a lock it can never get fails the test after this time.
WAIT_SECONDS = 20


async def _last_number(session: AsyncSession, store_id: uuid.UUID) -> int:
    await session.commit()
    number = await session.scalar(
        select(OrderCounter.last_number).where(OrderCounter.store_id == store_id)
    )
    await session.commit()
    return int(number or 0)


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_number_does_not_wait_for_an_open_order(
    app: FastAPI, session: AsyncSession, shop: Shop
) -> None:
    store_id = shop.store.id
    first_customer = await make_customer(session, shop.store, wa_id="5511900000001")
    await session.commit()
    first = await place_customer_order(session, shop.store, shop.menu, first_customer)
    # The first order's transaction stays open in ``session`` while a second order is placed.
    async with app.state.session_factory() as other:
        store = await other.get_one(Store, store_id)
        customer = await make_customer(other, store, wa_id="5511900000002")
        second = await asyncio.wait_for(
            place_customer_order(other, store, shop.menu, customer), WAIT_SECONDS
        )
        await other.commit()
    first_number = first.number
    # A rollback expires the objects the transaction loaded or wrote, the order among them.
    await session.rollback()

    assert (first_number, second.number) == (1, 2)
    # The rolled back order's number stays spent: numbers can have gaps.
    assert await _last_number(session, store_id) == 2


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_numbering_connections_close_with_the_engine(app: FastAPI, shop: Shop) -> None:
    async with app.state.session_factory() as session:
        store = await session.get_one(Store, shop.store.id)
        customer = await make_customer(session, store)
        await place_customer_order(session, store, shop.menu, customer)
        await session.commit()
    engine = app.state.engine.sync_engine
    assert engine in placement._numbering_engines

    await app.state.engine.dispose()

    assert engine not in placement._numbering_engines


async def test_store_created_in_the_same_transaction_is_numbered(session: AsyncSession) -> None:
    store = await make_store(session, minimum_order=0)
    menu = await make_menu(session, store)
    customer = await make_customer(session, store)

    order = await asyncio.wait_for(
        place_customer_order(session, store, menu, customer), WAIT_SECONDS
    )
    await session.commit()

    assert order.number == 1
    assert await _last_number(session, store.id) == 1


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_new_store_numbers_in_its_transaction(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Long enough that a numbering connection waiting on the counter's row would show.
    monkeypatch.setattr(placement, "NUMBERING_LOCK_TIMEOUT", "30s")
    store = await make_store(session, minimum_order=0)
    menu = await make_menu(session, store)
    customer = await make_customer(session, store)

    with capture_logs() as logs:
        numbers = [
            (
                await asyncio.wait_for(
                    place_customer_order(session, store, menu, customer), WAIT_SECONDS
                )
            ).number
            for _ in range(3)
        ]
    await session.commit()

    assert numbers == [1, 2, 3]
    # Only the first number tried the numbering connection, which cannot see the new store.
    fallbacks = [entry for entry in logs if entry["event"] == "order.numbering_fallback"]
    assert len(fallbacks) == 1, fallbacks


async def test_counter_locked_by_own_transaction(
    session: AsyncSession, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A short lock wait keeps the test fast. The open transaction then takes the number.
    monkeypatch.setattr(placement, "NUMBERING_LOCK_TIMEOUT", "200ms")
    customer = await make_customer(session, shop.store)
    session.add(OrderCounter(store_id=shop.store.id, last_number=41))
    await session.flush()

    order = await asyncio.wait_for(
        place_customer_order(session, shop.store, shop.menu, customer), WAIT_SECONDS
    )
    await session.commit()

    assert order.number == 42
    assert await _last_number(session, shop.store.id) == 42


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_number_ignores_locked_store(app: FastAPI, session: AsyncSession, shop: Shop) -> None:
    store_id = shop.store.id
    # An open transaction locks the store's row, as a change of the store's name would.
    await session.execute(update(Store).where(Store.id == store_id).values(name="Busy"))
    async with app.state.session_factory() as other:
        store = await other.get_one(Store, store_id)
        customer = await make_customer(other, store)
        with statements_run(app.state.engine) as statements:
            order = await asyncio.wait_for(
                place_customer_order(other, store, shop.menu, customer), WAIT_SECONDS
            )
        number = order.number
        await other.commit()
    await session.rollback()

    assert number == 1
    # The number came from the numbering connection, not from the order's transaction.
    assert not [sql for sql in statements if "store_order_counters" in sql], statements
    assert await _last_number(session, store_id) == 1


async def test_keyed_order_is_written_without_a_savepoint(
    app: FastAPI, client: httpx.AsyncClient, shop: Shop, backend: str
) -> None:
    with statements_run(app.state.engine) as collected:
        response = await client.post(
            shop.orders_url,
            json=pickup_body(shop.menu),
            headers={**shop.headers, "Idempotency-Key": "one-flush"},
        )
    statements = [" ".join(sql.split()) for sql in collected]

    assert response.status_code == 201, response.text
    assert not [s for s in statements if "SAVEPOINT" in s], statements
    tables = ("idempotency_keys", "orders", "order_lines", "order_events", "audit_log")
    # On PostgreSQL one statement inserts the order's rows, so a statement may name several.
    inserting = {
        table: [index for index, sql in enumerate(statements) if f"INSERT INTO {table} " in sql]
        for table in tables
    }
    for table in tables:
        assert len(inserting[table]) == 1, (table, statements)
    # The key is stored first, so a concurrent request with the same key waits for it.
    key_insert = inserting["idempotency_keys"][0]
    assert all(key_insert < inserting[table][0] for table in tables[1:]), statements
    # PostgreSQL takes the number on a connection of its own, SQLite in the transaction.
    numbering = sum("INTO store_order_counters" in sql for sql in statements)
    assert numbering == (0 if backend == "postgresql" else 1), statements


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_numbering_connections_stay_open_after_a_burst(app: FastAPI) -> None:
    numbering = placement._numbering_engine(app.state.engine.sync_engine)
    opened: list[object] = []
    event.listen(numbering.sync_engine, "connect", lambda *_: opened.append(1))
    burst = 5

    async def hold_connections() -> None:
        async with contextlib.AsyncExitStack() as stack:
            for _ in range(burst):
                connection = await stack.enter_async_context(numbering.connect())
                await connection.exec_driver_sql("SELECT 1")

    await hold_connections()
    opened_by_first_burst = len(opened)
    await hold_connections()

    assert opened_by_first_burst == burst
    # The second burst reuses the first one's connections instead of opening new ones.
    assert len(opened) == burst


async def _end_numbering_sessions(app: FastAPI) -> int:
    """Terminate the server sessions of this database's numbering connections."""
    async with app.state.engine.connect() as connection:
        ended = await connection.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = 'zapora-order-numbers' "
                "AND datname = current_database()"
            )
        )
    return int(ended or 0)


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_numbering_replaces_ended_connections(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, shop: Shop
) -> None:
    first = await client.post(shop.orders_url, json=pickup_body(shop.menu), headers=shop.headers)
    assert first.status_code == 201, first.text
    assert await _end_numbering_sessions(app) >= 1
    # The driver notices the closed socket once the event loop reads it.
    await asyncio.sleep(0.2)

    with statements_run(app.state.engine) as statements:
        responses = [
            await client.post(shop.orders_url, json=pickup_body(shop.menu), headers=shop.headers)
            for _ in range(3)
        ]

    assert [response.status_code for response in responses] == [201] * 3
    assert [response.json()["number"] for response in responses] == [2, 3, 4]
    # No order fell back to numbering inside its own transaction.
    assert not [sql for sql in statements if "store_order_counters" in sql], statements


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_numbering_connection_ended_mid_statement(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, shop: Shop
) -> None:
    # The counter's row stays locked, so the next order's numbering waits on it.
    session.add(OrderCounter(store_id=shop.store.id, last_number=0))
    await session.commit()
    await session.execute(
        update(OrderCounter)
        .where(OrderCounter.store_id == shop.store.id)
        .values(last_number=OrderCounter.last_number)
    )
    placing = asyncio.create_task(
        client.post(shop.orders_url, json=pickup_body(shop.menu), headers=shop.headers)
    )
    deadline = time.monotonic() + WAIT_SECONDS
    while await _end_numbering_sessions(app) == 0:
        assert time.monotonic() < deadline, "the numbering never started"
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)
    await session.commit()
    placed = await asyncio.wait_for(placing, WAIT_SECONDS)
    numbering = placement._numbering_engine(app.state.engine.sync_engine)

    after = await client.post(shop.orders_url, json=pickup_body(shop.menu), headers=shop.headers)

    # The order whose numbering connection ended took its number in its own transaction.
    assert placed.status_code == 201, placed.text
    assert after.status_code == 201, after.text
    assert [placed.json()["number"], after.json()["number"]] == [1, 2]
    # The ended connection was discarded instead of returned to the pool.
    async with numbering.connect() as connection:
        raw = await connection.get_raw_connection()
        assert not raw.driver_connection.is_closed()
