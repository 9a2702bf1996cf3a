"""Three API replicas and two workers behind nginx survive SIGKILL without losing or doubling work.

The cluster runs as real processes on a fresh PostgreSQL database and Redis key prefix.
Twenty customers order on WhatsApp through nginx while staff move their orders along, and
one replica and one worker are killed with SIGKILL and restarted mid-way. Then every
webhook message must be stored and processed once, every customer must have one correct
order, and every outbox row that was not superseded must have reached the Graph API
stand-in once. A row may arrive twice only when the killed worker's send of it was cut off.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.cluster.actors import PICKUP_STEPS, Customer, GraphFeed, Staff, WebhookLog
from tests.conftest import POSTGRES_ADMIN_DSN, REQUIRE_SERVICES
from zapora.cluster import Cluster, ClusterConfig, ClusterError
from zapora.cluster.graph import GraphRecord
from zapora.cluster.nginx import UPSTREAM_HEADER, find_nginx
from zapora.cluster.processes import free_port
from zapora.cluster.services import check_redis
from zapora.customers.models import Customer as CustomerRow
from zapora.db import create_engine
from zapora.orders.models import Order, OrderEvent, OrderLine
from zapora.outbox.models import OutboxMessage, OutboxStatus
from zapora.outbox.sender import SEND_CONCURRENCY
from zapora.whatsapp.models import InboundMessage, InboxStatus

REDIS_URL = os.environ.get("ZAPORA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
CUSTOMERS = 20
CAN_PRICE = 600  # Coca-Cola lata in the demo menu, in centavos
PUBLIC_LIMIT = 10
# The kill comes once customers have sent this many webhook messages, a quarter of them.
KILL_AFTER_MESSAGES = 40
SETTLE_TIMEOUT_SECONDS = 30.0
# Bounds the test after the cluster started, which takes 10 to 20 s.
TEST_TIMEOUT_SECONDS = 75.0
# Loopback addresses other than nginx's own, each used as the address of one client.
LIMITED_CLIENT = "127.0.0.2"
SECOND_CLIENT = "127.0.0.3"


def _unavailable(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (ZAPORA_TEST_REQUIRE_SERVICES is set)")
    pytest.skip(reason)


def _require_services() -> None:
    try:
        find_nginx()
        check_redis(REDIS_URL)
    except ClusterError as exc:
        _unavailable(str(exc))

    async def connect() -> None:
        connection = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)
        await connection.close()

    try:
        asyncio.run(connect())
    except (OSError, asyncpg.PostgresError) as exc:
        _unavailable(f"PostgreSQL at {POSTGRES_ADMIN_DSN} is not reachable: {exc}")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A started cluster on free ports with its own database, dropped afterwards."""
    _require_services()
    config = ClusterConfig(
        run_dir=tmp_path / "cluster",
        name=f"zapora_cluster_{uuid.uuid4().hex[:10]}",
        port=free_port(),
        replicas=3,
        workers=2,
        postgres_admin_url=POSTGRES_ADMIN_DSN,
        redis_url=REDIS_URL,
        fresh_database=True,
        drop_database_on_stop=True,
        env={
            "ZAPORA_RATE_LIMIT_PUBLIC": f"{PUBLIC_LIMIT}/hour",
            # Staff and customers all connect from 127.0.0.1, so only the menu keeps a low limit.
            "ZAPORA_RATE_LIMIT_DEFAULT": "100000/minute",
            "ZAPORA_RATE_LIMIT_LOGIN_IP": "1000/minute",
            "ZAPORA_WORKER_POLL_SECONDS": "0.2",
            # The shortest lease, so rows the killed worker held come back within the test.
            "ZAPORA_OUTBOX_LEASE_SECONDS": "5",
        },
    )
    started = Cluster(config)
    started.start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
async def engine(cluster: Cluster) -> AsyncIterator[AsyncEngine]:
    database = create_engine(cluster.database_url)
    yield database
    await database.dispose()


def _client(cluster: Cluster, local_address: str | None = None) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(local_address=local_address)
    return httpx.AsyncClient(base_url=cluster.url, transport=transport, timeout=10)


async def _menu_statuses(
    cluster: Cluster, source: str, count: int, headers: dict[str, str] | None = None
) -> tuple[Counter[int], set[str]]:
    statuses: Counter[int] = Counter()
    upstreams: set[str] = set()
    async with _client(cluster, source) as http:
        for _ in range(count):
            response = await http.get("/api/v1/stores/demo/menu", headers=headers)
            statuses[response.status_code] += 1
            upstreams.add(response.headers.get(UPSTREAM_HEADER, ""))
    return statuses, upstreams


async def _check_shared_rate_limit(cluster: Cluster) -> None:
    statuses, upstreams = await _menu_statuses(cluster, LIMITED_CLIENT, 3 * PUBLIC_LIMIT)
    assert len(upstreams) == 3, upstreams
    assert statuses[200] == PUBLIC_LIMIT, statuses
    assert statuses[429] == 2 * PUBLIC_LIMIT, statuses

    # nginx replaces the client's own X-Forwarded-For, so a forged one opens no new bucket.
    forged = {"X-Forwarded-For": "198.51.100.7"}
    statuses, _ = await _menu_statuses(cluster, SECOND_CLIENT, PUBLIC_LIMIT + 2, forged)
    assert statuses[200] == PUBLIC_LIMIT, statuses
    assert statuses[429] == 2, statuses


async def _kill_and_restart(cluster: Cluster, log: WebhookLog) -> dict[str, float]:
    await log.milestone_reached.wait()
    killed_at = {"api-2": time.time()}
    cluster.kill("api-2")
    await asyncio.sleep(0.3)
    killed_at["worker-1"] = time.time()
    cluster.kill("worker-1")
    await asyncio.sleep(1.0)
    await asyncio.gather(
        asyncio.to_thread(cluster.restart, "api-2"),
        asyncio.to_thread(cluster.restart, "worker-1"),
    )
    return killed_at


async def _work_orders(staff: Staff, customers_done: asyncio.Event) -> None:
    """Move open orders one step at a time until the customers are done and none is open."""
    while True:
        finished = customers_done.is_set()
        open_orders = await staff.open_orders()
        if finished and not open_orders:
            return
        for order in open_orders:
            await staff.advance(order)
        await asyncio.sleep(0.2)


async def _run_traffic(
    cluster: Cluster, log: WebhookLog
) -> tuple[list[Customer], dict[str, float]]:
    feed = GraphFeed(cluster.graph_record_path)
    feed_task = asyncio.create_task(feed.run())
    customers_done = asyncio.Event()
    async with _client(cluster) as http:
        staff = Staff(http)
        await staff.log_in()
        customers = [
            Customer(http, feed, log, f"5511955{index:06d}", quantity=4 + index % 5)
            for index in range(CUSTOMERS)
        ]
        staff_task = asyncio.create_task(_work_orders(staff, customers_done))
        chaos_task = asyncio.create_task(_kill_and_restart(cluster, log))
        try:
            await asyncio.gather(*(customer.order() for customer in customers))
            customers_done.set()
            killed_at = await chaos_task
            await staff_task
        finally:
            for task in (feed_task, staff_task, chaos_task):
                task.cancel()
    return customers, killed_at


async def _wait_until_settled(engine: AsyncEngine) -> None:
    """Wait until no inbound message and no outbox row is pending any more."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_SECONDS
    while True:
        async with engine.connect() as connection:
            pending_in = await connection.scalar(
                select(func.count()).where(InboundMessage.status == InboxStatus.PENDING.value)
            )
            pending_out = await connection.scalar(
                select(func.count()).where(OutboxMessage.status == OutboxStatus.PENDING.value)
            )
        if not pending_in and not pending_out:
            return
        assert time.monotonic() < deadline, f"{pending_in} inbound, {pending_out} outbox pending"
        await asyncio.sleep(0.2)


async def _read_results(engine: AsyncEngine) -> dict[str, list[Any]]:
    queries: dict[str, Any] = {
        "inbound": select(InboundMessage.message_id, InboundMessage.status),
        "orders": select(Order.id, Order.number, Order.status, Order.total, CustomerRow.wa_id).join(
            CustomerRow, CustomerRow.id == Order.customer_id
        ),
        "lines": select(OrderLine.order_id, OrderLine.quantity),
        "events": select(OrderEvent.order_id, OrderEvent.to_status),
        "outbox": select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.graph_message_id),
    }
    async with engine.connect() as connection:
        return {
            name: list((await connection.execute(query)).all()) for name, query in queries.items()
        }


def _sends_in_metrics(exposition: str) -> float:
    """Return the sum of ``zapora_whatsapp_sends_total{result="sent"}`` over every process."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == "zapora_whatsapp_sends_total" and sample.labels.get("result") == "sent"
    )


def _assert_inbox_once(inbound: list[Any], log: WebhookLog) -> None:
    assert len(set(log.message_ids)) == len(log.message_ids)
    assert sorted(row.message_id for row in inbound) == sorted(log.message_ids)
    statuses = Counter(row.status for row in inbound)
    assert statuses == {InboxStatus.PROCESSED.value: len(log.message_ids)}


def _assert_one_order_each(customers: list[Customer], results: dict[str, list[Any]]) -> None:
    orders = results["orders"]
    assert len(orders) == CUSTOMERS
    assert len({order.number for order in orders}) == CUSTOMERS
    quantities = defaultdict(list)
    for line in results["lines"]:
        quantities[line.order_id].append(line.quantity)
    statuses = defaultdict(list)
    for event in results["events"]:
        statuses[event.order_id].append(event.to_status)
    for customer in customers:
        own = [order for order in orders if order.wa_id == customer.wa_id]
        assert len(own) == 1, customer.wa_id
        order = own[0]
        assert str(order.number) == customer.order_number
        assert quantities[order.id] == [customer.quantity]
        assert order.total == CAN_PRICE * customer.quantity
        assert order.status == PICKUP_STEPS[-1]
        assert sorted(statuses[order.id]) == sorted(["placed", *PICKUP_STEPS])


def _assert_outbox_sent_once(
    outbox: list[Any], records: list[GraphRecord], worker_killed_at: float
) -> None:
    rejected = [record for record in records if not record.accepted]
    assert rejected == []
    received: dict[str | None, list[GraphRecord]] = defaultdict(list)
    for record in records:
        received[record.outbox_id].append(record)
    # A status update replaced by a newer one about the same order before it left is not sent.
    sent = [row for row in outbox if row.status != OutboxStatus.SUPERSEDED.value]
    assert {row.status for row in sent} == {OutboxStatus.SENT.value}
    assert set(received) == {str(row.id) for row in sent}
    # Sending is at least once: a row the killed worker had sent but not yet marked sent is
    # sent again when its lease ends. Only such rows may arrive twice.
    repeated = {key: sends for key, sends in received.items() if len(sends) > 1}
    assert len(repeated) <= SEND_CONCURRENCY, repeated
    for sends in repeated.values():
        assert len(sends) == 2
        assert sends[0].received_at <= worker_killed_at < sends[1].received_at
    for row in sent:
        assert row.graph_message_id == received[str(row.id)][-1].message_id


async def test_cluster_survives_killed_replica_and_worker(
    cluster: Cluster, engine: AsyncEngine
) -> None:
    async with asyncio.timeout(TEST_TIMEOUT_SECONDS):
        await _check_shared_rate_limit(cluster)
        log = WebhookLog(milestone=KILL_AFTER_MESSAGES)
        customers, killed_at = await _run_traffic(cluster, log)
        assert cluster.process("api-2").starts == 2
        assert cluster.process("worker-1").starts == 2
        assert cluster.exited() == {}
        await _wait_until_settled(engine)
        results = await _read_results(engine)
        async with _client(cluster) as http:
            exposition = (await http.get("/metrics")).text

    _assert_inbox_once(results["inbound"], log)
    _assert_one_order_each(customers, results)
    records = cluster.graph_records()
    _assert_outbox_sent_once(results["outbox"], records, killed_at["worker-1"])
    # Every process counts into one metrics folder, the killed worker included. Its sends
    # that the stand-in accepted just before the kill may not have been counted.
    sends = _sends_in_metrics(exposition)
    assert len(records) - SEND_CONCURRENCY <= sends <= len(records)
