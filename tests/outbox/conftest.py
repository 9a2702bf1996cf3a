"""Fixtures for the outbox tests: cloud settings aimed at the Graph API stand-in."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import structlog
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import make_settings
from tests.graph_api import GraphApiStandIn
from zapora.config import Settings, WhatsAppTransport
from zapora.db import utcnow
from zapora.outbox.models import OutboxMessage
from zapora.outbox.service import enqueue
from zapora.outbox.transports import CloudTransport
from zapora.stores.models import Store

CUSTOMER = "5511955551234"
ACCESS_TOKEN = "store-access-token-0001"
TEXT_BODY: dict[str, Any] = {"type": "text", "text": {"body": "Seu pedido saiu para entrega"}}


@pytest.fixture
def settings(database_url: str, graph_api: GraphApiStandIn) -> Settings:
    return make_settings(
        database_url,
        whatsapp_transport=WhatsAppTransport.CLOUD,
        whatsapp_api_base_url=graph_api.url,
        whatsapp_timeout_seconds=2.0,
        outbox_max_attempts=3,
        # Status updates go out at once unless a test holds them on purpose.
        notification_merge_seconds=0,
    )


@pytest.fixture
def session_factory(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    factory: async_sessionmaker[AsyncSession] = app.state.session_factory
    return factory


@pytest.fixture
async def transport(settings: Settings) -> AsyncIterator[CloudTransport]:
    cloud = CloudTransport(settings)
    yield cloud
    await cloud.aclose()


async def queue_message(
    session: AsyncSession,
    store: Store,
    *,
    to: str = CUSTOMER,
    body: dict[str, Any] | None = None,
    request_id: str | None = None,
) -> OutboxMessage:
    """Enqueue a message as a request handler would, and commit it."""
    context = {"request_id": request_id} if request_id else {}
    with structlog.contextvars.bound_contextvars(**context):
        message = await enqueue(session, store_id=store.id, to=to, body=body or TEXT_BODY)
    await session.commit()
    return message


async def load(
    session_factory: async_sessionmaker[AsyncSession], message_id: uuid.UUID
) -> OutboxMessage:
    """Read the row in a fresh session, so the test reads what the sender committed."""
    async with session_factory() as fresh:
        message = await fresh.get(OutboxMessage, message_id)
        assert message is not None
        return message


async def make_due(
    session_factory: async_sessionmaker[AsyncSession], message_id: uuid.UUID
) -> None:
    """Move a backed-off row's next attempt into the past instead of waiting for it."""
    async with session_factory() as fresh, fresh.begin():
        await fresh.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
