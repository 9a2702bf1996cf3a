"""OpenTelemetry tracing of requests, SQL queries, Redis commands and outgoing HTTP calls.

Tracing is off unless the standard variables ask for it: ``OTEL_EXPORTER_OTLP_ENDPOINT``,
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` or ``OTEL_TRACES_EXPORTER`` (``otlp``, ``console``
or both, comma-separated) switch it on, and ``OTEL_SDK_DISABLED=true`` or
``OTEL_TRACES_EXPORTER=none`` keep it off. The other ``OTEL_*`` variables (service name,
resource attributes, sampler, exporter headers and timeouts) work as the SDK documents.
The packages come with the ``tracing`` extra: ``pip install 'zapora[tracing]'``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from zapora import __version__

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

logger = structlog.get_logger(__name__)

SUPPORTED_EXPORTERS = ("otlp", "console")
# The only OTLP transport installed with the tracing extra.
OTLP_PROTOCOL = "http/protobuf"


def _environment_flag(environ: Mapping[str, str], name: str) -> bool:
    return environ.get(name, "").strip().lower() == "true"


def requested_exporters(environ: Mapping[str, str] | None = None) -> list[str]:
    """Return the exporter names the ``OTEL_*`` variables ask for; empty means tracing off."""
    environ = os.environ if environ is None else environ
    if _environment_flag(environ, "OTEL_SDK_DISABLED"):
        return []
    names = [
        name.strip().lower()
        for name in environ.get("OTEL_TRACES_EXPORTER", "").split(",")
        if name.strip()
    ]
    if "none" in names:
        return []
    if names:
        return names
    endpoints = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    return ["otlp"] if any(environ.get(name) for name in endpoints) else []


def _build_exporters(names: list[str], environ: Mapping[str, str]) -> list[SpanExporter]:
    exporters: list[SpanExporter] = []
    for name in names:
        if name == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            exporters.append(ConsoleSpanExporter())
        elif name == "otlp":
            protocol = environ.get(
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
                environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", OTLP_PROTOCOL),
            )
            if protocol != OTLP_PROTOCOL:
                logger.error(
                    "tracing.exporter_unsupported",
                    exporter=name,
                    protocol=protocol,
                    fix=f"set OTEL_EXPORTER_OTLP_PROTOCOL={OTLP_PROTOCOL}",
                )
                continue
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporters.append(OTLPSpanExporter())
        else:
            logger.error(
                "tracing.exporter_unsupported",
                exporter=name,
                fix=f"set OTEL_TRACES_EXPORTER to one of: {', '.join(SUPPORTED_EXPORTERS)}",
            )
    return exporters


@dataclass
class Tracing:
    """Installed tracing of one application; ``shutdown`` exports what is left and removes it."""

    app: FastAPI | None
    provider: TracerProvider

    def shutdown(self) -> None:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        from opentelemetry.instrumentation.redis import RedisInstrumentor
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

        if self.app is not None:
            FastAPIInstrumentor.uninstrument_app(self.app)
        instrumentors = (SQLAlchemyInstrumentor(), HTTPXClientInstrumentor(), RedisInstrumentor())
        for instrumentor in instrumentors:
            if instrumentor.is_instrumented_by_opentelemetry:
                instrumentor.uninstrument()
        self.provider.shutdown()


def setup_tracing(
    app: FastAPI | None,
    engine: AsyncEngine,
    *,
    exporter: SpanExporter | None = None,
    environ: Mapping[str, str] | None = None,
) -> Tracing | None:
    """Trace ``app`` (None in the worker), queries on ``engine``, Redis and httpx requests.

    Without ``exporter`` the ``OTEL_*`` variables decide, spans are exported in batches,
    and the provider becomes the process's global one. A given ``exporter`` (an in-memory
    one in tests) receives each span as it ends and leaves the global provider alone.
    Call it before the application serves its first request. Returns None when tracing
    stays off.
    """
    environ = os.environ if environ is None else environ
    names = [] if exporter is not None else requested_exporters(environ)
    if exporter is None and not names:
        return None
    try:
        from opentelemetry import trace
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        from opentelemetry.instrumentation.redis import RedisInstrumentor
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    except ImportError as exc:
        logger.error("tracing.unavailable", error=str(exc), fix="pip install 'zapora[tracing]'")
        return None

    # Resource.create reads the OTEL_* variables, but attributes given here would win.
    attributes = {"service.version": __version__}
    named = environ.get("OTEL_SERVICE_NAME") or "service.name=" in environ.get(
        "OTEL_RESOURCE_ATTRIBUTES", ""
    )
    if not named:
        attributes["service.name"] = "zapora"
    provider = TracerProvider(resource=Resource.create(attributes))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        exporters = _build_exporters(names, environ)
        if not exporters:
            return None
        for built in exporters:
            provider.add_span_processor(BatchSpanProcessor(built))
        trace.set_tracer_provider(provider)

    # The ASGI "receive" and "send" spans would double the span count and add no timing
    # that the request span lacks.
    if app is not None:
        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=provider, exclude_spans=["receive", "send"]
        )
    # NOTE: this instrumentation declares support for SQLAlchemy below 2.1 only. The engine
    # events it uses exist unchanged in 2.1, and the tracing tests check that queries
    # produce spans, so the version check is skipped.
    SQLAlchemyInstrumentor().instrument(
        engine=engine.sync_engine, tracer_provider=provider, skip_dep_check=True
    )
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    RedisInstrumentor().instrument(tracer_provider=provider)
    logger.info("tracing.started", exporters=names or [type(exporter).__name__])
    return Tracing(app=app, provider=provider)
