"""Background work: the outbox sender and the inbox sweep."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from zapora.config import Settings


class Worker:
    def __init__(
        self, settings: Settings, session_factory: async_sessionmaker[AsyncSession]
    ) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None
