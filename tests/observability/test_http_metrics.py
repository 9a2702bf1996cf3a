"""Request metrics and the access log: route templates, statuses, in-flight requests."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import login, make_store, make_user
from tests.observability.conftest import LogCapture, counter, sample_value, scrape
from zapora.observability.http_metrics import IN_FLIGHT_WRITE_SECONDS, InFlightRequests
from zapora.observability.metrics import HTTP_IN_FLIGHT

ORDERS_TEMPLATE = "/api/v1/stores/{store_id}/orders"


async def test_requests_labelled_by_route_template(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    store = await make_store(session)
    user = await make_user(session, store)
    await session.commit()
    headers = await login(client, user)
    labels = {"route": ORDERS_TEMPLATE, "method": "GET", "status": "200"}
    before = await counter(client, "zapora_http_requests_total", **labels)

    response = await client.get(f"/api/v1/stores/{store.id}/orders", headers=headers)
    assert response.status_code == 200

    exposition = await scrape(client)
    assert sample_value(exposition, "zapora_http_requests_total", **labels) == before + 1
    assert str(store.id) not in exposition
    latency_count = sample_value(
        exposition,
        "zapora_http_request_duration_seconds_count",
        route=ORDERS_TEMPLATE,
        method="GET",
    )
    assert latency_count is not None
    assert latency_count >= 1


async def test_unmatched_path_gets_fixed_label(client: httpx.AsyncClient) -> None:
    path = f"/no-such-page-{uuid.uuid4().hex}"
    labels = {"route": "<unmatched>", "method": "GET", "status": "404"}
    before = await counter(client, "zapora_http_requests_total", **labels)

    response = await client.get(path)
    assert response.status_code == 404

    exposition = await scrape(client)
    assert sample_value(exposition, "zapora_http_requests_total", **labels) == before + 1
    assert path not in exposition


async def test_unknown_method_counted_as_other(client: httpx.AsyncClient) -> None:
    labels = {"route": "/health", "method": "OTHER", "status": "405"}
    before = await counter(client, "zapora_http_requests_total", **labels)

    response = await client.request("BREW", "/health")
    assert response.status_code == 405

    assert await counter(client, "zapora_http_requests_total", **labels) == before + 1


async def test_rejected_before_routing_keeps_template(client: httpx.AsyncClient) -> None:
    """A 413 answered by middleware still counts under the webhook's route template."""
    labels = {"route": "/webhooks/whatsapp", "method": "POST", "status": "413"}
    before = await counter(client, "zapora_http_requests_total", **labels)

    response = await client.post("/webhooks/whatsapp", content=b"x" * 2_000_000)
    assert response.status_code == 413

    assert await counter(client, "zapora_http_requests_total", **labels) == before + 1


async def test_in_flight_gauge_returns_to_level(client: httpx.AsyncClient) -> None:
    before = sample_value(await scrape(client), "zapora_http_requests_in_flight")
    assert before is not None
    await client.get("/health")
    # The scrape itself is in flight while the exposition is rendered.
    during_scrape = sample_value(await scrape(client), "zapora_http_requests_in_flight")
    assert during_scrape == before


async def test_access_log_line_per_request(
    client: httpx.AsyncClient, log_capture: LogCapture
) -> None:
    response = await client.get("/health/live", headers={"X-Request-ID": "access-log-1"})
    assert response.status_code == 200

    lines = [
        line
        for line in log_capture.events("http.request")
        if line.get("request_id") == "access-log-1"
    ]
    assert len(lines) == 1
    line = lines[0]
    assert line["method"] == "GET"
    assert line["route"] == "/health/live"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], int | float)
    assert line["duration_ms"] >= 0
    assert line["logger"] == "zapora.access"


async def test_in_flight_count_written_within_interval() -> None:
    def gauge() -> float | None:
        return REGISTRY.get_sample_value("zapora_http_requests_in_flight")

    HTTP_IN_FLIGHT.set(0)
    requests = InFlightRequests()
    requests.enter()
    requests.enter()

    assert gauge() == 0
    await asyncio.sleep(IN_FLIGHT_WRITE_SECONDS + 0.2)
    assert gauge() == 2

    requests.leave()
    requests.leave()
    await asyncio.sleep(IN_FLIGHT_WRITE_SECONDS + 0.2)
    assert gauge() == 0
