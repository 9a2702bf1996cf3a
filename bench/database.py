"""The benchmark database: created on the local PostgreSQL, migrated, seeded in bulk with SQL."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping

import asyncpg

from bench.config import BenchConfig
from bench.processes import VENV_BIN

OTHER_STORES = 99
OTHER_STORE_PREFIX = "bench-store-"
OUTBOX_WA_PREFIX = "55990"

# Statuses of the seeded history; most orders of a busy store are finished.
_STATUS_SQL = (
    "(ARRAY['delivered','delivered','delivered','delivered','delivered','delivered',"
    "'cancelled','placed','accepted','preparing'])[1 + (i % 10)]"
)


async def ensure_database(config: BenchConfig) -> None:
    """Create the benchmark database when it does not exist yet."""
    admin = await asyncpg.connect(
        host=config.pg_host, port=config.pg_port, user=config.pg_user, database="postgres"
    )
    try:
        exists = await admin.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", config.database
        )
        if not exists:
            await admin.execute(f'CREATE DATABASE "{config.database}"')
    finally:
        await admin.close()


def migrate_and_seed_demo(env: Mapping[str, str]) -> None:
    """Apply the migrations and seed the demo store with the ``zapora`` command itself."""
    for command in (["migrate"], ["seed-demo"]):
        completed = subprocess.run(  # noqa: S603 - fixed command line
            [str(VENV_BIN / "zapora"), *command],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"zapora {command[0]} failed:\n{completed.stderr[-3000:]}")


async def seed_orders(config: BenchConfig) -> tuple[int, float]:
    """Fill the demo store to ``store_orders`` and all stores to ``total_orders`` orders.

    Returns the count of orders added and the seconds it took. Runs again only add what is
    missing, so a second benchmark reuses the data of the first.
    """
    started = time.monotonic()
    connection = await asyncpg.connect(config.dsn)
    try:
        async with connection.transaction():
            demo_id = await connection.fetchval("SELECT id FROM stores WHERE slug = 'demo'")
            await _clone_stores(connection, demo_id)
            added = await _fill_store(connection, demo_id, config.store_orders)
            others = await connection.fetch(
                "SELECT id FROM stores WHERE slug LIKE $1 ORDER BY slug", f"{OTHER_STORE_PREFIX}%"
            )
            per_store = max(0, (config.total_orders - config.store_orders) // len(others))
            for row in others:
                added += await _fill_store(connection, row["id"], per_store)
            await _seed_outbox_customers(connection, demo_id, config.outbox_messages)
        if added:
            await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return added, time.monotonic() - started


async def _clone_stores(connection: asyncpg.Connection, demo_id: object) -> None:
    """Copy the demo store's row into ``OTHER_STORES`` stores, whatever columns it has."""
    columns = [
        row["column_name"]
        for row in await connection.fetch(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name = 'stores' ORDER BY ordinal_position"
        )
    ]
    overrides = {
        "id": "gen_random_uuid()",
        "slug": f"'{OTHER_STORE_PREFIX}' || lpad(n::text, 3, '0')",
        "name": "'Bench store ' || n",
        "whatsapp_phone_number_id": "'2000000' || lpad(n::text, 8, '0')",
        "last_order_number": "0",
    }
    targets = ", ".join(f'"{column}"' for column in columns)
    values = ", ".join(overrides.get(column, f's."{column}"') for column in columns)
    await connection.execute(
        f"INSERT INTO stores ({targets}) SELECT {values} "  # noqa: S608 - names from the catalog
        f"FROM stores s, generate_series(1, {OTHER_STORES}) AS n WHERE s.id = $1 "
        "ON CONFLICT DO NOTHING",
        demo_id,
    )


async def _fill_store(connection: asyncpg.Connection, store_id: object, target: int) -> int:
    have = await connection.fetchval("SELECT count(*) FROM orders WHERE store_id = $1", store_id)
    missing = target - have
    if missing <= 0:
        return 0
    start = await connection.fetchval(
        "INSERT INTO store_order_counters (store_id, last_number) VALUES ($1, 0) "
        "ON CONFLICT (store_id) DO UPDATE SET last_number = store_order_counters.last_number "
        "RETURNING last_number",
        store_id,
    )
    # Orders go back in time from now, one every 90 s, so the newest pages are recent ones.
    await connection.execute(
        f"""
        INSERT INTO orders (
            id, store_id, number, customer_name, customer_phone, source, status, fulfilment,
            address_text, payment_method, currency, subtotal, delivery_fee, total,
            placed_at, created_at, updated_at, tracking_token
        )
        SELECT gen_random_uuid(), $1, $2 + i, 'Cliente ' || i, '55119' || lpad(i::text, 8, '0'),
            'whatsapp', {_STATUS_SQL}, 'delivery', 'Rua Exemplo, ' || i, 'cash', 'BRL',
            4000 + (i % 50) * 100, 700, 4700 + (i % 50) * 100,
            now() - make_interval(secs => i * 90), now() - make_interval(secs => i * 90), now(),
            md5(random()::text || i::text)
        FROM generate_series(1, $3) AS i
        """,  # noqa: S608 - the interpolated text is a constant of this module
        store_id,
        start,
        missing,
    )
    await connection.execute(
        "UPDATE store_order_counters SET last_number = $2 WHERE store_id = $1",
        store_id,
        start + missing,
    )
    return int(missing)


async def _seed_outbox_customers(
    connection: asyncpg.Connection, store_id: object, count: int
) -> None:
    """Create one customer per outbox message: a batch sends one row per customer."""
    await connection.execute(
        """
        INSERT INTO customers (id, store_id, wa_id, profile_name, created_at, updated_at)
        SELECT gen_random_uuid(), $1, $2 || lpad(i::text, 8, '0'), 'Bench ' || i, now(), now()
        FROM generate_series(1, $3) AS i
        ON CONFLICT DO NOTHING
        """,
        store_id,
        OUTBOX_WA_PREFIX,
        count,
    )


async def autovacuum_is_on(config: BenchConfig) -> bool:
    """Return whether the server runs autovacuum."""
    connection = await asyncpg.connect(config.dsn)
    try:
        return bool(await connection.fetchval("SELECT current_setting('autovacuum')::boolean"))
    finally:
        await connection.close()


async def vacuum(config: BenchConfig) -> None:
    """Vacuum and analyze the benchmark database.

    Without it, the row versions that one scenario's updates leave behind slow down the
    next, and on a server without autovacuum they pile up for the whole benchmark.
    """
    connection = await asyncpg.connect(config.dsn)
    try:
        await connection.execute("VACUUM (ANALYZE)")
    finally:
        await connection.close()
