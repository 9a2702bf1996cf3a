"""Open-order gauges refreshed by the worker, and the worker's metrics endpoint."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import TEST_SECRET_KEY
from tests.factories import make_menu, make_store
from tests.observability.conftest import LogCapture, sample_value
from tests.orders.builders import make_customer, place_customer_order
from zapora.db import create_engine, create_session_factory
from zapora.observability.metrics_server import start_metrics_server
from zapora.observability.order_gauges import OPEN_STATUSES, OpenOrderGauges, count_open_orders
from zapora.orders.models import OrderStatus

ZAPORA = str(Path(sys.executable).parent / "zapora")
OPEN_ORDERS = "zapora_open_orders"


async def _place_orders_in(session: AsyncSession, statuses: list[OrderStatus]) -> None:
    """Place one order per entry on a new store and give it that status."""
    store = await make_store(session)
    menu = await make_menu(session, store)
    customer = await make_customer(session, store)
    for status in statuses:
        order = await place_customer_order(session, store, menu, customer)
        order.status = status.value
    await session.commit()


def _gauge(status: OrderStatus) -> float | None:
    return REGISTRY.get_sample_value(OPEN_ORDERS, {"status": status.value})


def test_open_statuses_exclude_final_ones() -> None:
    assert OrderStatus.PLACED in OPEN_STATUSES
    assert OrderStatus.OUT_FOR_DELIVERY in OPEN_STATUSES
    assert OrderStatus.DELIVERED not in OPEN_STATUSES
    assert OrderStatus.PICKED_UP not in OPEN_STATUSES
    assert OrderStatus.CANCELLED not in OPEN_STATUSES


async def test_count_open_orders_by_status(app: FastAPI, session: AsyncSession) -> None:
    placed, preparing, ready = OrderStatus.PLACED, OrderStatus.PREPARING, OrderStatus.READY
    await _place_orders_in(session, [placed, placed, preparing, OrderStatus.DELIVERED])
    await _place_orders_in(session, [placed, ready, OrderStatus.CANCELLED])

    counts = await count_open_orders(app.state.session_factory)

    assert counts[placed.value] == 3
    assert counts[preparing.value] == 1
    assert counts[ready.value] == 1
    assert counts[OrderStatus.ACCEPTED.value] == 0
    assert set(counts) == {status.value for status in OPEN_STATUSES}


async def test_refresh_sets_gauges(app: FastAPI, session: AsyncSession) -> None:
    await _place_orders_in(session, [OrderStatus.ACCEPTED, OrderStatus.ACCEPTED])
    gauges = OpenOrderGauges(app.state.session_factory)

    assert await gauges.refresh() is True

    assert _gauge(OrderStatus.ACCEPTED) == 2
    assert _gauge(OrderStatus.PLACED) == 0
    refreshed = REGISTRY.get_sample_value("zapora_open_orders_refreshed_timestamp_seconds")
    assert refreshed is not None
    assert refreshed > 0


async def test_refresh_failure_keeps_values(
    app: FastAPI, session: AsyncSession, log_capture: LogCapture, tmp_path: Path
) -> None:
    await _place_orders_in(session, [OrderStatus.READY])
    assert await OpenOrderGauges(app.state.session_factory).refresh() is True
    # A file that is no SQLite database makes every query fail.
    broken_path = tmp_path / "broken.db"
    broken_path.write_bytes(b"not a database" * 100)
    broken_engine = create_engine(f"sqlite+aiosqlite:///{broken_path}")
    broken = OpenOrderGauges(create_session_factory(broken_engine))
    try:
        assert await broken.refresh() is False
        assert await broken.refresh() is False
    finally:
        await broken_engine.dispose()

    assert _gauge(OrderStatus.READY) == 1
    assert broken.consecutive_failures == 2
    assert len(log_capture.events("metrics.open_orders_refresh_failed")) == 1


async def test_refresher_task_runs_and_stops(app: FastAPI, session: AsyncSession) -> None:
    await _place_orders_in(session, [OrderStatus.PREPARING] * 3)
    gauges = OpenOrderGauges(app.state.session_factory, interval_seconds=0.05)
    gauges.start()
    try:
        with pytest.raises(RuntimeError):
            gauges.start()
        for _ in range(100):
            if _gauge(OrderStatus.PREPARING) == 3:
                break
            await asyncio.sleep(0.05)
    finally:
        await gauges.stop()

    assert _gauge(OrderStatus.PREPARING) == 3


async def test_metrics_server_serves_registry() -> None:
    server = start_metrics_server("127.0.0.1", 0)
    try:
        async with httpx.AsyncClient() as http:
            response = await http.get(f"http://127.0.0.1:{server.port}/metrics")
    finally:
        server.stop()

    assert response.status_code == 200
    assert sample_value(response.text, "zapora_http_requests_in_flight") is not None
    async with httpx.AsyncClient() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{server.port}/metrics", timeout=2)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_worker_command_serves_metrics(
    app: FastAPI, session: AsyncSession, database_url: str
) -> None:
    await _place_orders_in(session, [OrderStatus.OUT_FOR_DELIVERY])
    port = _free_port()
    env = {
        **os.environ,
        "ZAPORA_DATABASE_URL": database_url,
        "ZAPORA_ENVIRONMENT": "test",
        "ZAPORA_SECRET_KEY": TEST_SECRET_KEY,
        "ZAPORA_LOG_LEVEL": "WARNING",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = [ZAPORA, "worker", "--metrics-host", "127.0.0.1", "--metrics-port", str(port)]
    process = subprocess.Popen(  # noqa: ASYNC220, S603
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        value = await _wait_for_open_orders(port, OrderStatus.OUT_FOR_DELIVERY, process)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)

    assert value == 1, stderr
    assert process.returncode == 0, stderr


async def _wait_for_open_orders(
    port: int, status: OrderStatus, process: subprocess.Popen[str]
) -> float | None:
    """Scrape the worker until it reports ``status``. Return None after 30 seconds without."""
    async with httpx.AsyncClient(timeout=2) as http:
        for _ in range(150):
            if process.poll() is not None:
                return None
            try:
                response = await http.get(f"http://127.0.0.1:{port}/metrics")
            except httpx.TransportError:
                await asyncio.sleep(0.2)
                continue
            value = sample_value(response.text, OPEN_ORDERS, status=status.value)
            if value is not None:
                return value
            await asyncio.sleep(0.2)
    return None
