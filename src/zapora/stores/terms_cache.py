"""Each store's opening hours and active-zone flag, kept in process memory for order placement.

Placing an order checks the store's weekly ranges and closures, and for a delivery without a
pin whether the store has an active delivery zone. Both change rarely, so each process keeps
what it read for ``LOCAL_TTL_SECONDS`` at most and repeat orders of a store skip those reads.
The store's own row (the ``is_open`` switch, time zone, lead time, fees and minimum) is not
kept here: order placement loads it fresh on every request.

Closures are read for a window around the store's local day, so a copy of hours is used only
on the local day it was read for.

A change made through ``zapora.stores.hours_service`` or ``zapora.stores.zones_service`` is
noted in the session (``note_terms_change``) and announced after the commit
(``publish_terms_changes``). This process drops its copies of that store at once. Every other
process drops them when the store id arrives over Redis pub/sub (``{prefix}:store-terms``),
and keeps copies only while subscribed. ``LOCAL_TTL_SECONDS`` bounds how long another process
can use old terms when a message is lost, when Redis is not configured (each process then
keeps copies on its own), and after a change made outside those services.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import structlog
from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from zapora.cache import BACKEND_ERRORS, InvalidationChannel, attach_to_sessions, drop_by_id
from zapora.config import Settings
from zapora.dependencies import SessionDep
from zapora.stores.hours_service import StoreHours, load_store_hours
from zapora.stores.terms_changes import has_terms_change, has_terms_changes, take_terms_changes
from zapora.stores.zones_service import has_active_zones

logger = structlog.get_logger(__name__)

# How long a process uses a store's hours or zone flag before it reads them again.
LOCAL_TTL_SECONDS = 5.0
# Maximum count of stores kept in process memory, per kind of copy. Past it all are dropped.
MAX_LOCAL_STORES = 10_000
_SESSION_INFO_KEY = "zapora.store_terms_cache"


@dataclass(frozen=True, slots=True)
class _LocalHours:
    expires_at: float
    day: date
    hours: StoreHours


@dataclass(frozen=True, slots=True)
class _LocalZoneFlag:
    expires_at: float
    has_active_zones: bool


class StoreTermsCache:
    """Stores' hours and active-zone flags, each kept ``LOCAL_TTL_SECONDS`` at most.

    Misses read in the caller's session. A session that changed a store's terms and has not
    committed reads them itself, and its reads are not kept.
    """

    def __init__(self, *, redis_url: str = "", key_prefix: str = "zapora") -> None:
        self._hours: dict[uuid.UUID, _LocalHours] = {}
        self._zone_flags: dict[uuid.UUID, _LocalZoneFlag] = {}
        # Number of times copies were dropped. A read that started under another number
        # keeps nothing, because the rows it read may predate the change just announced.
        self._generation = 0
        self.channel: InvalidationChannel | None = None
        if redis_url:
            self.channel = InvalidationChannel(
                redis_url,
                f"{key_prefix}:store-terms",
                on_message=drop_by_id(self._drop, self._drop_all),
                on_reset=self._drop_all,
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> StoreTermsCache:
        return cls(redis_url=settings.redis_url, key_prefix=settings.cache_key_prefix)

    async def hours(self, session: AsyncSession, store_id: uuid.UUID, today: date) -> StoreHours:
        """Return the store's weekly ranges and its closures around the local day ``today``."""
        if has_terms_change(session, store_id):
            return await load_store_hours(session, store_id, today)
        local = self._hours.get(store_id)
        if local is not None and local.day == today and self._fresh(local.expires_at):
            return local.hours
        generation = self._start_read()
        hours = await load_store_hours(session, store_id, today)
        if self._may_store(generation):
            _trim(self._hours)
            self._hours[store_id] = _LocalHours(_expiry(), today, hours)
        return hours

    async def has_active_zones(self, session: AsyncSession, store_id: uuid.UUID) -> bool:
        """Return whether the store prices delivery by zone."""
        if has_terms_change(session, store_id):
            return await has_active_zones(session, store_id)
        local = self._zone_flags.get(store_id)
        if local is not None and self._fresh(local.expires_at):
            return local.has_active_zones
        generation = self._start_read()
        flag = await has_active_zones(session, store_id)
        if self._may_store(generation):
            _trim(self._zone_flags)
            self._zone_flags[store_id] = _LocalZoneFlag(_expiry(), flag)
        return flag

    async def publish(self, store_ids: Iterable[uuid.UUID]) -> None:
        """Drop these stores' copies here at once and tell every other process to drop them.

        Call it after the change committed, because a process that reads the terms before
        the commit would keep the old rows. Publishing a change that was rolled back only
        costs a read.
        """
        store_ids = set(store_ids)
        self._drop(store_ids)
        if self.channel is None:
            return
        for store_id in store_ids:
            try:
                await self.channel.publish(str(store_id))
            except BACKEND_ERRORS as error:
                logger.warning(
                    "store_terms_cache.publish_failed",
                    store_id=str(store_id),
                    error=repr(error),
                    action=f"other processes drop the copies within {LOCAL_TTL_SECONDS:g} s",
                )

    async def close(self) -> None:
        if self.channel is not None:
            await self.channel.close()
        self._drop_all()

    def _fresh(self, expires_at: float) -> bool:
        return expires_at > time.monotonic() and self._may_keep()

    def _start_read(self) -> int:
        if self.channel is not None:
            self.channel.start()
        return self._generation

    def _may_store(self, generation: int) -> bool:
        return generation == self._generation and self._may_keep()

    def _may_keep(self) -> bool:
        return self.channel is None or self.channel.listening

    def _drop(self, store_ids: Iterable[uuid.UUID]) -> None:
        self._generation += 1
        for store_id in store_ids:
            self._hours.pop(store_id, None)
            self._zone_flags.pop(store_id, None)

    def _drop_all(self) -> None:
        self._generation += 1
        self._hours.clear()
        self._zone_flags.clear()


def _expiry() -> float:
    return time.monotonic() + LOCAL_TTL_SECONDS


def _trim(copies: dict[uuid.UUID, Any]) -> None:
    if len(copies) >= MAX_LOCAL_STORES:
        copies.clear()


def create_terms_cache(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> StoreTermsCache:
    """Create the terms cache and attach it to every session ``session_factory`` makes."""
    terms_cache = StoreTermsCache.from_settings(settings)
    attach_to_sessions(session_factory, _SESSION_INFO_KEY, terms_cache)
    return terms_cache


def terms_cache_of(session: AsyncSession) -> StoreTermsCache | None:
    """Return the terms cache attached to the session's factory, if any."""
    terms_cache = session.info.get(_SESSION_INFO_KEY)
    return terms_cache if isinstance(terms_cache, StoreTermsCache) else None


async def commit_and_publish_terms(session: AsyncSession) -> None:
    """Commit the session, then announce the changes of store terms its transaction recorded."""
    await session.commit()
    changes = take_terms_changes(session)
    terms_cache = terms_cache_of(session)
    if changes and terms_cache is not None:
        await terms_cache.publish(changes)


async def publish_terms_changes(session: SessionDep) -> AsyncIterator[None]:
    """Commit the request's session when the route returns, then announce its terms changes.

    This runs before the response is sent, so the next order placed in this process uses
    the new terms. A route that recorded no change is left to the session dependency, which
    skips the commit when nothing was written.
    """
    yield
    if has_terms_changes(session):
        await commit_and_publish_terms(session)


# For routers whose writes change hours or zones: APIRouter(dependencies=[PublishTermsChanges]).
PublishTermsChanges = Depends(publish_terms_changes, scope="function")
