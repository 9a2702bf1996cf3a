"""OpenTelemetry tracing: switched by OTEL_* variables, spans for requests, SQL, HTTP, Redis."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import redis.asyncio as redis_asyncio
import uvicorn
from fastapi import FastAPI
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.conftest import _unavailable, make_settings
from tests.graph_api import GraphApiStandIn
from zapora.app import create_app
from zapora.observability.logging import add_trace_context
from zapora.observability.tracing import Tracing, requested_exporters, setup_tracing

SHARED_REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, []),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, ["otlp"]),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, ["otlp"]),
        ({"OTEL_TRACES_EXPORTER": "console"}, ["console"]),
        ({"OTEL_TRACES_EXPORTER": "otlp, console"}, ["otlp", "console"]),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}, []),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, []),
        ({"OTEL_SDK_DISABLED": "TRUE", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}, []),
        ({"OTEL_SDK_DISABLED": "false", "OTEL_TRACES_EXPORTER": "console"}, ["console"]),
    ],
)
def test_requested_exporters(environ: dict[str, str], expected: list[str]) -> None:
    assert requested_exporters(environ) == expected


async def test_tracing_off_by_default(app: FastAPI) -> None:
    assert setup_tracing(app, app.state.engine, environ={}) is None
    assert app.state.tracing is None


async def test_unsupported_exporter_leaves_tracing_off(app: FastAPI) -> None:
    environ = {"OTEL_TRACES_EXPORTER": "zipkin"}
    assert setup_tracing(app, app.state.engine, environ=environ) is None
    grpc = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
    assert setup_tracing(app, app.state.engine, environ=grpc) is None


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
async def traced(
    database_url: str, exporter: InMemorySpanExporter
) -> AsyncIterator[tuple[FastAPI, Tracing]]:
    application = create_app(make_settings(database_url))
    tracing = setup_tracing(application, application.state.engine, exporter=exporter)
    assert tracing is not None
    try:
        yield application, tracing
    finally:
        tracing.shutdown()
        await application.state.engine.dispose()


@pytest.fixture
async def traced_client(traced: tuple[FastAPI, Tracing]) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=traced[0])
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def _spans(exporter: InMemorySpanExporter, kind: SpanKind) -> list[ReadableSpan]:
    return [span for span in exporter.get_finished_spans() if span.kind is kind]


async def test_request_produces_server_and_database_spans(
    traced_client: httpx.AsyncClient, exporter: InMemorySpanExporter, backend: str
) -> None:
    response = await traced_client.get("/health/ready")
    assert response.status_code == 200

    [server] = _spans(exporter, SpanKind.SERVER)
    assert server.attributes is not None
    assert server.attributes["http.route"] == "/health/ready"
    assert server.name == "GET /health/ready"
    selects = [
        span
        for span in _spans(exporter, SpanKind.CLIENT)
        if span.attributes
        and span.attributes.get("db.system") == backend
        and span.attributes.get("db.statement") == "SELECT 1"
    ]
    assert selects
    assert selects[0].parent is not None
    assert selects[0].context.trace_id == server.context.trace_id


async def test_server_span_uses_route_template(
    traced_client: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    response = await traced_client.get("/api/v1/stores/3fa85f64-5717-4562-b3fc-2c963f66afa6/orders")
    assert response.status_code == 401

    [server] = _spans(exporter, SpanKind.SERVER)
    assert server.attributes is not None
    assert server.attributes["http.route"] == "/api/v1/stores/{store_id}/orders"


async def test_outgoing_http_traced(
    traced: tuple[FastAPI, Tracing], exporter: InMemorySpanExporter, graph_api: GraphApiStandIn
) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{graph_api.url}/anything")
    assert response.status_code == 400

    [client_span] = [
        span
        for span in _spans(exporter, SpanKind.CLIENT)
        if span.attributes and "db.system" not in span.attributes
    ]
    assert client_span.attributes is not None
    status = client_span.attributes.get("http.response.status_code") or (
        client_span.attributes.get("http.status_code")
    )
    assert status == 400


async def test_redis_commands_traced(
    traced: tuple[FastAPI, Tracing], exporter: InMemorySpanExporter
) -> None:
    client = redis_asyncio.from_url(SHARED_REDIS_URL, socket_connect_timeout=1)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        _unavailable(f"Redis at {SHARED_REDIS_URL} is not reachable: {exc}")
    finally:
        await client.aclose()

    [span] = [
        span
        for span in _spans(exporter, SpanKind.CLIENT)
        if span.attributes and span.attributes.get("db.system") == "redis"
    ]
    assert span.name == "PING"


async def test_shutdown_stops_tracing(
    traced: tuple[FastAPI, Tracing],
    traced_client: httpx.AsyncClient,
    exporter: InMemorySpanExporter,
) -> None:
    traced[1].shutdown()
    await traced_client.get("/health/ready")

    assert exporter.get_finished_spans() == ()


def test_log_lines_carry_trace_ids(exporter: InMemorySpanExporter) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("tests").start_as_current_span("work") as span:
        event = add_trace_context(None, "info", {"event": "test.traced"})
    outside = add_trace_context(None, "info", {"event": "test.untraced"})

    assert event["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert event["span_id"] == format(span.get_span_context().span_id, "016x")
    assert "trace_id" not in outside


class CollectorStandIn:
    """An OTLP/HTTP trace receiver on a free local port that keeps each export request."""

    def __init__(self) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        self.content_types: list[str] = []
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self.port = int(self._socket.getsockname()[1])
        app = Starlette(routes=[Route("/v1/traces", self._receive, methods=["POST"])])
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    async def _receive(self, request: Request) -> Response:
        export = ExportTraceServiceRequest()
        export.ParseFromString(await request.body())
        self.requests.append(export)
        self.content_types.append(request.headers.get("content-type", ""))
        return Response(b"", media_type="application/x-protobuf")

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "the OTLP stand-in did not start"
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def span_names(self) -> list[str]:
        return [
            span.name
            for export in self.requests
            for resource_spans in export.resource_spans
            for scope_spans in resource_spans.scope_spans
            for span in scope_spans.spans
        ]

    def service_names(self) -> set[str]:
        return {
            attribute.value.string_value
            for export in self.requests
            for resource_spans in export.resource_spans
            for attribute in resource_spans.resource.attributes
            if attribute.key == "service.name"
        }


@pytest.fixture
def collector() -> Iterator[CollectorStandIn]:
    stand_in = CollectorStandIn()
    stand_in.start()
    try:
        yield stand_in
    finally:
        stand_in.stop()


# Runs in a process of its own, because the SDK sets its global provider once per process.
_EXPORT_SCRIPT = """
import asyncio, sys
import httpx
from zapora.app import create_app
from zapora.config import Environment, Settings

async def main():
    app = create_app(Settings(database_url=sys.argv[1], environment=Environment.DEVELOPMENT))
    assert app.state.tracing is not None, "tracing stayed off"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.get("/health/ready")
        assert response.status_code == 200, response.text
    app.state.tracing.shutdown()
    await app.state.engine.dispose()

asyncio.run(main())
"""


def test_otlp_export_from_environment(database_url: str, collector: CollectorStandIn) -> None:
    environment = {
        **os.environ,
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.port}",
        "OTEL_SERVICE_NAME": "zapora-under-test",
    }
    environment.pop("OTEL_SDK_DISABLED", None)
    environment.pop("OTEL_TRACES_EXPORTER", None)

    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", _EXPORT_SCRIPT, database_url],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert collector.requests, result.stderr
    assert collector.content_types[0] == "application/x-protobuf"
    names = collector.span_names()
    assert names.count("GET /health/ready") == 1
    assert "SELECT 1" in " ".join(names) or any(name.startswith("SELECT") for name in names)
    assert collector.service_names() == {"zapora-under-test"}
