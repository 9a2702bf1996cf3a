"""The measured scenarios: each returns one Sample per timed run."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import asyncpg
import httpx

from bench.config import LOOPBACK, BenchConfig
from bench.loadgen import Sample, run_pgbench, run_wrk
from bench.processes import Server
from bench.report import Measurement
from bench.webhook_bodies import write_bodies

DEMO_PHONE_NUMBER_ID = "100000000000001"
RunFunction = Callable[[int], Sample]
# Distinct webhook deliveries written per second of a run: about four times the highest
# ingestion rate measured on a 2-core machine (1,581 deliveries/s).
WEBHOOK_BODIES_PER_SECOND = 6_000


@dataclass(frozen=True)
class Fixture:
    """Ids and credentials the scenarios send, read from the seeded database and the server."""

    store_id: str
    user_id: str
    item_a: str
    option_a: str
    item_b: str
    token: str
    app_secret: str

    def order_body(self) -> str:
        return json.dumps(
            {
                "lines": [
                    {"item_id": self.item_a, "quantity": 1, "option_ids": [self.option_a]},
                    {"item_id": self.item_b, "quantity": 2},
                ],
                "fulfilment": "delivery",
                "address_text": "Rua Exemplo, 1",
                "payment_method": "cash",
                "customer_name": "Cliente",
                "customer_phone": "5511900000000",
            }
        )


async def load_fixture(config: BenchConfig, token: str, app_secret: str) -> Fixture:
    connection = await asyncpg.connect(config.dsn)
    try:
        store = await connection.fetchrow("SELECT id FROM stores WHERE slug = 'demo'")
        user = await connection.fetchval(
            "SELECT id FROM users WHERE email = 'gerente@demo.example.com'"
        )
        pizza = await connection.fetchval(
            "SELECT id FROM items WHERE store_id = $1 AND name = 'Mussarela'", store["id"]
        )
        size = await connection.fetchval(
            "SELECT o.id FROM options o JOIN option_groups g ON g.id = o.group_id "
            "WHERE g.item_id = $1 AND g.name = 'Tamanho' ORDER BY o.position OFFSET 1 LIMIT 1",
            pizza,
        )
        drink = await connection.fetchval(
            "SELECT id FROM items WHERE store_id = $1 AND name LIKE 'Guaran%'", store["id"]
        )
    finally:
        await connection.close()
    return Fixture(
        store_id=str(store["id"]),
        user_id=str(user),
        item_a=str(pizza),
        option_a=str(size),
        item_b=str(drink),
        token=token,
        app_secret=app_secret,
    )


def login(port: int, email: str, password: str) -> str:
    response = httpx.post(
        f"http://{LOOPBACK}:{port}/api/v1/auth/login",
        json={"email": email, "password": password},
        timeout=30,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def repeat(
    config: BenchConfig, measurement: Measurement, run: Callable[[int], Sample]
) -> Measurement:
    """Warm up once, then time ``config.runs`` runs and print each as it ends."""
    run(config.warmup_seconds)
    for index in range(config.runs):
        sample = run(config.seconds)
        measurement.samples.append(sample)
        cpu = "" if sample.server_cpu_ms is None else f", server CPU {sample.server_cpu_ms:.2f} ms"
        print(
            f"  {measurement.name} run {index + 1}/{config.runs}: {sample.rps:.0f} req/s, "
            f"{sample.describe_latency()}, errors {sample.errors}{cpu}",
            flush=True,
        )
    return measurement


def with_server_cpu(server: Server, run: RunFunction) -> RunFunction:
    """Wrap ``run`` so that each sample carries the server's CPU milliseconds per request.

    On a shared machine this figure varies less than the request rate, because it does not
    depend on how much CPU the other processes leave to the server.
    """

    def measured(seconds: int) -> Sample:
        before = server.cpu_seconds()
        sample = run(seconds)
        used_ms = (server.cpu_seconds() - before) * 1000
        return replace(sample, server_cpu_ms=used_ms / sample.requests if sample.requests else None)

    return measured


def http_get(config: BenchConfig, port: int, path: str, token: str = "") -> Callable[[int], Sample]:
    url = f"http://{LOOPBACK}:{port}{path}"
    return lambda seconds: run_wrk(
        config, url, "get.lua", seconds=seconds, env={"BENCH_TOKEN": token}
    )


def http_order(
    config: BenchConfig, port: int, path: str, fixture: Fixture
) -> Callable[[int], Sample]:
    url = f"http://{LOOPBACK}:{port}{path}"

    def run(seconds: int) -> Sample:
        env = {
            "BENCH_TOKEN": fixture.token,
            "BENCH_ORDER_BODY": fixture.order_body(),
            "BENCH_RUN_ID": uuid.uuid4().hex,
        }
        return run_wrk(config, url, "order.lua", seconds=seconds, env=env)

    return run


def pgbench_order(config: BenchConfig, fixture: Fixture) -> Callable[[int], Sample]:
    variables = {
        "store_id": fixture.store_id,
        "user_id": fixture.user_id,
        "item_a": fixture.item_a,
        "item_b": fixture.item_b,
    }
    return lambda seconds: run_pgbench(config, "order.sql", seconds=seconds, variables=variables)


def pgbench_webhook(config: BenchConfig, fixture: Fixture) -> Callable[[int], Sample]:
    variables = {"store_id": fixture.store_id}
    return lambda seconds: run_pgbench(config, "webhook.sql", seconds=seconds, variables=variables)


def http_webhook(config: BenchConfig, port: int, fixture: Fixture) -> Callable[[int], Sample]:
    url = f"http://{LOOPBACK}:{port}/webhooks/whatsapp"

    def run(seconds: int) -> Sample:
        count = max(5_000, WEBHOOK_BODIES_PER_SECOND * seconds)
        with tempfile.TemporaryDirectory(prefix="zapora-webhooks-") as folder:
            bodies = Path(folder) / "bodies.tsv"
            write_bodies(
                bodies, count, phone_number_id=DEMO_PHONE_NUMBER_ID, app_secret=fixture.app_secret
            )
            sample = run_wrk(
                config, url, "webhook.lua", seconds=seconds, env={"BENCH_WEBHOOK_FILE": str(bodies)}
            )
        # Past the last body wrk starts again from the first. The repeated message ids are
        # duplicates that store nothing, so they would inflate the rate.
        if sample.requests >= count:
            raise RuntimeError(
                f"the webhook run sent {sample.requests} deliveries with {count} distinct "
                "bodies: raise WEBHOOK_BODIES_PER_SECOND in bench/scenarios.py"
            )
        return sample

    return run


def bot_backlog(config: BenchConfig, worker: Server) -> RunFunction:
    """Build a run that counts the stored webhook messages the bot finishes.

    The worker works through the backlog the webhook scenario left, so every run finds
    messages waiting and the count is the bot's throughput. Dead messages count as errors.
    A run that ends with the worker gone or the backlog empty raises RuntimeError, because
    its count would understate the rate.
    """

    async def finished() -> tuple[int, int]:
        connection = await asyncpg.connect(config.dsn)
        try:
            row = await connection.fetchrow(
                "SELECT count(*) FILTER (WHERE status = 'processed') AS processed, "
                "count(*) FILTER (WHERE status = 'dead') AS dead "
                "FROM inbound_messages WHERE message_id LIKE 'wamid.bench.%'"
            )
        finally:
            await connection.close()
        return int(row["processed"]), int(row["dead"])

    def run(seconds: int) -> Sample:
        processed_before, dead_before = asyncio.run(finished())
        started = time.monotonic()
        time.sleep(seconds)
        processed_after, dead_after = asyncio.run(finished())
        elapsed = time.monotonic() - started
        if worker.process.poll() is not None:
            raise RuntimeError(f"{worker.name} exited during the run:\n{worker.log_tail()}")
        if asyncio.run(pending_bench_messages(config)) == 0:
            raise RuntimeError(
                "the bot finished the backlog during a run: run the webhook scenario longer "
                "(BENCH_SECONDS) or the bot for less time"
            )
        handled = processed_after - processed_before
        return Sample(
            rps=handled / elapsed,
            p50_ms=None,
            p95_ms=None,
            p99_ms=None,
            requests=handled,
            errors=dead_after - dead_before,
        )

    return run


async def pending_bench_messages(config: BenchConfig) -> int:
    connection = await asyncpg.connect(config.dsn)
    try:
        return int(
            await connection.fetchval(
                "SELECT count(*) FROM inbound_messages "
                "WHERE status = 'pending' AND message_id LIKE 'wamid.bench.%'"
            )
        )
    finally:
        await connection.close()


async def delete_probe_messages(config: BenchConfig) -> None:
    """Delete the inbox rows no worker should pick up: the probe's rows and any backlog.

    It runs before the webhook scenario, which then starts from an inbox without the probe's
    rows or an interrupted run's backlog, and after the bot's runs, which leave part of the
    backlog. The vacuum clears the deleted rows out of the table and its indexes.
    """
    connection = await asyncpg.connect(config.dsn)
    try:
        await connection.execute(
            "DELETE FROM inbound_messages WHERE message_id LIKE 'wamid.pgbench.%' "
            "OR (status = 'pending' AND message_id LIKE 'wamid.bench.%')"
        )
        await connection.execute("VACUUM ANALYZE inbound_messages")
    finally:
        await connection.close()
