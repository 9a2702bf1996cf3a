"""Application factory: settings, database, middleware, routers and the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI

from zapora import __version__
from zapora.auth.router import router as auth_router
from zapora.catalog.router import public_router as menu_router
from zapora.catalog.router import router as catalog_router
from zapora.config import Settings, get_settings
from zapora.db import create_engine, create_session_factory
from zapora.errors import install_error_handlers
from zapora.observability.health import router as health_router
from zapora.observability.logging import configure_logging
from zapora.observability.request_context import RequestContextMiddleware, parse_networks
from zapora.orders.router import router as orders_router
from zapora.stores.router import router as stores_router
from zapora.whatsapp.router import inbox_router
from zapora.whatsapp.router import router as webhook_router
from zapora.worker import Worker

logger = structlog.get_logger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = create_engine(settings.resolved_database_url)
    session_factory = create_session_factory(engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker: Worker | None = None
        if settings.worker_in_process:
            worker = Worker(settings, session_factory)
            worker.start()
        logger.info("app.started", environment=settings.environment.value)
        try:
            yield
        finally:
            if worker is not None:
                await worker.stop()
            await engine.dispose()
            logger.info("app.stopped")

    app = FastAPI(
        title="Zapora",
        version=__version__,
        summary="Sell for delivery through WhatsApp.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory
    install_error_handlers(app)
    app.add_middleware(
        RequestContextMiddleware, trusted_proxies=parse_networks(settings.trusted_proxies)
    )

    app.include_router(health_router)
    app.include_router(webhook_router)
    api_prefix = "/api/v1"
    app.include_router(auth_router, prefix=api_prefix)
    app.include_router(stores_router, prefix=api_prefix)
    app.include_router(menu_router, prefix=api_prefix)
    app.include_router(catalog_router, prefix=api_prefix)
    app.include_router(orders_router, prefix=api_prefix)
    app.include_router(inbox_router, prefix=api_prefix)
    return app


def create_app_from_env() -> FastAPI:
    """Uvicorn factory: ``uvicorn --factory zapora.app:create_app_from_env``."""
    settings = get_settings()
    configure_logging(level=settings.log_level, json=settings.logs_as_json)
    return create_app(settings)
