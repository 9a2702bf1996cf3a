"""Outbox throughput: how fast one and two ``zapora worker`` processes drain queued messages."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from pathlib import Path

import asyncpg

from bench.config import BenchConfig
from bench.database import OUTBOX_WA_PREFIX
from bench.loadgen import Sample, percentile
from bench.processes import VENV_BIN, Server, start

DRAIN_TIMEOUT_SECONDS = 180.0
WORKER_READY_EVENT = "worker.started"


async def clear_queues(config: BenchConfig) -> None:
    """Empty the outbox and settle leftover inbound messages, so workers only send ours."""
    connection = await asyncpg.connect(config.dsn)
    try:
        await connection.execute("DELETE FROM outbox_messages")
        await connection.execute(
            "UPDATE inbound_messages SET status = 'processed', processed_at = now() "
            "WHERE status = 'pending'"
        )
    finally:
        await connection.close()


def wait_ready(workers: list[Server], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    for worker in workers:
        while WORKER_READY_EVENT not in worker.log_path.read_text(errors="replace"):
            if worker.process.poll() is not None:
                raise RuntimeError(f"{worker.name} exited early:\n{worker.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{worker.name} did not start:\n{worker.log_tail()}")
            time.sleep(0.1)


async def _enqueue_and_drain(config: BenchConfig, count: int) -> Sample:
    connection = await asyncpg.connect(config.dsn)
    try:
        await connection.execute("DELETE FROM outbox_messages")
        # Each run deletes the last run's rows. Without a vacuum their dead versions pile up
        # and slow the claim query's scan of pending rows down run after run.
        await connection.execute("VACUUM ANALYZE outbox_messages")
        started_at = await connection.fetchval(
            """
            INSERT INTO outbox_messages (
                id, store_id, customer_id, "to", body, status, attempts, next_attempt_at,
                created_at
            )
            SELECT gen_random_uuid(), c.store_id, c.id, c.wa_id,
                jsonb_build_object('type', 'text', 'text', jsonb_build_object('body', 'Pedido ok')),
                'pending', 0, now(), now()
            FROM customers c JOIN stores s ON s.id = c.store_id
            WHERE s.slug = 'demo' AND c.wa_id LIKE $1 || '%'
            ORDER BY c.wa_id LIMIT $2
            RETURNING now()
            """,
            OUTBOX_WA_PREFIX,
            count,
        )
        deadline = time.monotonic() + DRAIN_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            left = await connection.fetchval(
                "SELECT count(*) FROM outbox_messages WHERE status = 'pending'"
            )
            if left == 0:
                break
            await asyncio.sleep(0.1)
        rows = await connection.fetch(
            "SELECT extract(epoch FROM sent_at - created_at) AS latency, "
            "extract(epoch FROM sent_at - $1::timestamptz) AS done "
            "FROM outbox_messages WHERE status = 'sent'",
            started_at,
        )
        failed = await connection.fetchval(
            "SELECT count(*) FROM outbox_messages WHERE status <> 'sent'"
        )
    finally:
        await connection.close()
    latencies = sorted(float(row["latency"]) * 1000 for row in rows)
    elapsed = max((float(row["done"]) for row in rows), default=0.0)
    return Sample(
        rps=len(rows) / elapsed if elapsed else 0.0,
        p50_ms=percentile(latencies, 0.50),
        p95_ms=percentile(latencies, 0.95),
        p99_ms=percentile(latencies, 0.99),
        requests=len(rows),
        errors=int(failed),
    )


def measure_outbox(
    config: BenchConfig, processes: int, env: Mapping[str, str], log_dir: Path
) -> Sample:
    """Start ``processes`` workers, queue ``outbox_messages`` rows at once, time the drain."""
    workers = [
        start(f"worker-{processes}-{index}", [str(VENV_BIN / "zapora"), "worker"], env, log_dir)
        for index in range(processes)
    ]
    try:
        wait_ready(workers)
        return asyncio.run(_enqueue_and_drain(config, config.outbox_messages))
    finally:
        for worker in workers:
            worker.stop()
