"""Application factory: settings, database, middleware, routers and the lifespan."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI

from zapora import __version__
from zapora.audit.router import router as audit_router
from zapora.auth.router import router as auth_router
from zapora.auth.staff_router import router as staff_router
from zapora.auth.user_cache import UserCache
from zapora.catalog.cache import PublishMenuChanges, create_menu_cache
from zapora.catalog.router import CachedMenuMiddleware
from zapora.catalog.router import public_router as menu_router
from zapora.catalog.router import router as catalog_router
from zapora.config import Settings, get_settings
from zapora.db import create_engine, create_read_session_factory, create_session_factory
from zapora.delivery.courier_router import router as courier_router
from zapora.delivery.router import files_router
from zapora.delivery.router import router as dispatch_router
from zapora.errors import install_error_handlers
from zapora.observability.exposition import router as metrics_router
from zapora.observability.health import ReadinessState
from zapora.observability.health import router as health_router
from zapora.observability.http_metrics import HttpMetricsMiddleware
from zapora.observability.logging import configure_logging
from zapora.observability.multiprocess import mark_this_process_ended, remove_ended_processes
from zapora.observability.pool_metrics import instrument_pool
from zapora.observability.request_context import RequestContextMiddleware, parse_networks
from zapora.observability.shutdown import ShutdownState, TerminationHook
from zapora.observability.tracing import setup_tracing
from zapora.orders.fee_router import router as order_fee_router
from zapora.orders.messages_router import router as order_messages_router
from zapora.orders.router import router as orders_router
from zapora.payments.router import router as payments_router
from zapora.ratelimit.middleware import install_rate_limiting
from zapora.reports.router import router as reports_router
from zapora.security import install_http_security
from zapora.stores.hours_router import router as hours_router
from zapora.stores.router import router as stores_router
from zapora.stores.terms_cache import create_terms_cache
from zapora.stores.zones_router import router as zones_router
from zapora.tracking.router import router as tracking_router
from zapora.whatsapp.router import inbox_router
from zapora.whatsapp.router import router as webhook_router
from zapora.worker import Worker

logger = structlog.get_logger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = create_engine(settings.resolved_database_url)
    session_factory = create_session_factory(engine)
    menu_cache = create_menu_cache(settings, session_factory)
    user_cache = UserCache.from_settings(settings)
    terms_cache = create_terms_cache(settings, session_factory)
    instrument_pool(engine)
    shutdown = ShutdownState()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        remove_ended_processes()
        termination = TerminationHook(shutdown, delay_seconds=settings.shutdown_delay_seconds)
        termination.install()
        worker: Worker | None = None
        if settings.worker_in_process:
            worker = Worker(settings, session_factory)
            worker.start()
        logger.info("app.started", environment=settings.environment.value)
        try:
            yield
        finally:
            shutdown.begin("application shutdown")
            termination.uninstall()
            if worker is not None:
                await worker.stop()
            if app.state.tracing is not None:
                app.state.tracing.shutdown()
            await menu_cache.close()
            await user_cache.close()
            await terms_cache.close()
            if app.state.rate_limiter is not None:
                await app.state.rate_limiter.close()
            await engine.dispose()
            mark_this_process_ended()
            logger.info("app.stopped")

    app = FastAPI(
        title="Zapora",
        version=__version__,
        summary="Sell for delivery through WhatsApp.",
        lifespan=lifespan,
        # Traces come from setup_tracing's instrumentation, which FastAPI's own telemetry
        # defers to. Left on, it would look the global providers up on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory
    app.state.read_session_factory = create_read_session_factory(engine)
    app.state.menu_cache = menu_cache
    app.state.user_cache = user_cache
    app.state.terms_cache = terms_cache
    app.state.shutdown = shutdown
    app.state.readiness = ReadinessState()
    install_error_handlers(app)
    api_prefix = "/api/v1"
    # Added first, so it runs inside every other middleware and only skips the routing.
    app.add_middleware(CachedMenuMiddleware, menu_cache=menu_cache, prefix=api_prefix)
    # Added before RequestContextMiddleware so it runs inside it and reads the client IP.
    install_rate_limiting(app, settings)
    install_http_security(app, settings)
    # Inside RequestContextMiddleware, so the access log line carries the request id.
    app.add_middleware(HttpMetricsMiddleware, routes=app.router.routes)
    app.add_middleware(
        RequestContextMiddleware, trusted_proxies=parse_networks(settings.trusted_proxies)
    )

    app.include_router(health_router)
    app.include_router(metrics_router)
    app.include_router(webhook_router)
    app.include_router(tracking_router)
    # Signed links to locally stored files, where the signature is the access check.
    app.include_router(files_router)
    app.include_router(auth_router, prefix=api_prefix)
    # Store settings are part of the public menu.
    app.include_router(stores_router, prefix=api_prefix, dependencies=[PublishMenuChanges])
    app.include_router(hours_router, prefix=api_prefix)
    app.include_router(zones_router, prefix=api_prefix)
    app.include_router(staff_router, prefix=api_prefix)
    app.include_router(menu_router, prefix=api_prefix)
    app.include_router(catalog_router, prefix=api_prefix)
    app.include_router(orders_router, prefix=api_prefix)
    app.include_router(order_fee_router, prefix=api_prefix)
    app.include_router(order_messages_router, prefix=api_prefix)
    app.include_router(payments_router, prefix=api_prefix)
    app.include_router(inbox_router, prefix=api_prefix)
    app.include_router(audit_router, prefix=api_prefix)
    app.include_router(reports_router, prefix=api_prefix)
    app.include_router(dispatch_router, prefix=api_prefix)
    app.include_router(courier_router, prefix=api_prefix)
    app.state.tracing = setup_tracing(app, engine)
    return app


def create_app_from_env() -> FastAPI:
    """Uvicorn factory: ``uvicorn --factory zapora.app:create_app_from_env``."""
    settings = get_settings()
    configure_logging(level=settings.log_level, json=settings.logs_as_json)
    app = create_app(settings)
    # The modules and objects loaded so far live as long as the process. Frozen, they are
    # left out of every later collection, and a full collection no longer stalls requests
    # for tens of milliseconds while it walks them.
    gc.collect()
    gc.freeze()
    return app
