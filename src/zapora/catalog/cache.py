"""The menu cache: each store's public menu as JSON, shared by every replica.

Keys, under ``settings.cache_key_prefix``:

- ``store-slug:{slug}``: the store id of a slug. Slugs never change.
- ``menu-version:{store_id}``: the store's current version token.
- ``menu:{store_id}:{token}``: the menu, ``MenuOut`` as JSON.

A write to a menu gets the store a new token after its transaction commits (see
``commit_and_publish``), so every later read looks for a new key and loads the committed rows.
Deleting the menu key instead would race: a reader that loaded the old rows before the commit
could store them after the deletion. With versions that reader stores them under the old
token, which no reader looks up again. Tokens are random rather than a counter, so a version key
that expired or was evicted gets a fresh token instead of one whose entry may still be live.
The TTL (``settings.cache_ttl_seconds``) is a backstop: it bounds how long an old menu can
be served when publishing a new version fails.

Each process also keeps the menus it has read in its own memory, so that a cached read makes
no Redis round trip. Publishing a version sends the store id on the channel
``{prefix}:menu-versions`` and every process drops its copy of that menu, then reads the new
version from Redis. Copies are kept only while the process is subscribed, and a lost
subscription drops them all. A copy lives ``LOCAL_TTL_SECONDS`` at most, which bounds how
long a process can serve an old menu if the subscription dies without an error. Other
replicas serve the new menu once the message reaches them (the tests bound this at 1 s).
Without Redis the process is the only writer and drops its copies itself. Next to a copy's
JSON the process keeps the menu parsed, once it was asked for, so that reading the same
version again costs no parsing.
"""

from __future__ import annotations

import re
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

import structlog
from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from zapora.cache import (
    BACKEND_ERRORS,
    InvalidationChannel,
    ReadThroughCache,
    attach_to_sessions,
    create_cache,
    drop_by_id,
)
from zapora.catalog.changes import has_menu_change, take_menu_changes
from zapora.catalog.schemas import MenuOut
from zapora.catalog.service import load_menu
from zapora.config import Settings
from zapora.dependencies import SessionDep
from zapora.errors import NotFoundError
from zapora.observability.metrics import CACHE_REQUESTS
from zapora.stores.models import Store
from zapora.stores.schemas import SLUG_PATTERN

logger = structlog.get_logger(__name__)

# When a version key expires, the next read starts a new token and reloads the menu once.
VERSION_TTL_SECONDS = 86_400
MAX_SLUG_LENGTH = 64
# Maximum count of remembered slugs. Past it they are all forgotten and looked up again.
MAX_REMEMBERED_SLUGS = 10_000
# How long a process serves a menu from its own memory before it reads the version again.
LOCAL_TTL_SECONDS = 5.0
# Maximum count of menus kept in process memory. Past it they are all dropped.
MAX_LOCAL_MENUS = 1_000
_SESSION_INFO_KEY = "zapora.menu_cache"


def _new_version() -> int:
    return secrets.randbits(63)


def _holds_write_lock(session: AsyncSession | None) -> bool:
    """Return whether the session's open transaction may hold SQLite's write lock.

    ``zapora.db`` starts every SQLite transaction with BEGIN IMMEDIATE. A second session
    would wait for this one to finish, so its caller must read through its own session and
    must not wait for another loader, which may be waiting for this very lock.
    """
    if session is None or not session.in_transaction():
        return False
    return session.get_bind().dialect.name == "sqlite"


async def load_menu_out(session: AsyncSession, store_id: uuid.UUID) -> MenuOut | None:
    """Load a store's menu from the database, or None when the store does not exist."""
    store = await session.get(Store, store_id, populate_existing=True)
    if store is None:
        return None
    return MenuOut.from_models(store, await load_menu(session, store_id))


def _store_not_found(slug: str) -> NotFoundError:
    return NotFoundError(f"Store '{slug}' not found.", field="slug", fix="check the store link")


@dataclass(slots=True)
class _LocalMenu:
    """A menu kept in process memory: when it expires, its JSON and, once parsed, its model."""

    expires_at: float
    value: bytes
    menu: MenuOut | None = None


class MenuCache:
    """Store menus and slug lookups, read through a cashews cache.

    Misses load in a short session of their own, so they read committed rows and hold no
    transaction while other readers wait for them. A caller whose session may hold SQLite's
    write lock is read through that session instead.
    """

    def __init__(
        self,
        read_through: ReadThroughCache,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        ttl_seconds: int,
        key_prefix: str,
        redis_url: str = "",
    ) -> None:
        self.read_through = read_through
        self.session_factory = session_factory
        self.ttl_seconds = ttl_seconds
        self.key_prefix = key_prefix
        # Stores whose new version could not be written yet: retried before the next read.
        self._unpublished: set[uuid.UUID] = set()
        # Slugs never change, so a slug found once needs no cache round trip again.
        self._slug_ids: dict[str, uuid.UUID] = {}
        # Menus read from the cache, by store.
        self._local: dict[uuid.UUID, _LocalMenu] = {}
        # Number of times local copies were dropped. A read that started under another
        # number stores no copy, because its value may predate the drop.
        self._generation = 0
        self.channel: InvalidationChannel | None = None
        if redis_url:
            self.channel = InvalidationChannel(
                redis_url,
                self._key("menu-versions"),
                on_message=drop_by_id(self._drop, self._drop_all),
                on_reset=self._drop_all,
            )
        self._menu_hits = CACHE_REQUESTS.labels(cache="menu", result="hit")
        self._slug_hits = CACHE_REQUESTS.labels(cache="store_slug", result="hit")

    async def menu_by_slug(self, slug: str, session: AsyncSession | None = None) -> MenuOut:
        """Return the menu of the store with this slug or raise NotFoundError."""
        return MenuOut.model_validate_json(await self.menu_json_by_slug(slug, session))

    async def menu_json_by_slug(self, slug: str, session: AsyncSession | None = None) -> bytes:
        """Return the menu of the store with this slug as ``MenuOut`` JSON, or raise NotFoundError.

        The bytes are the cached ones, so serving them costs no parsing or serialising.
        """
        store_id = await self._store_id_by_slug(slug, session)
        value = await self._menu_json(store_id, session)
        if value is None:
            # The store was deleted: forget it, so its slug is looked up again next time.
            self._slug_ids.pop(slug, None)
            raise _store_not_found(slug)
        return value

    def local_menu_json(self, slug: str) -> bytes | None:
        """Return the menu JSON of a known slug when this process has a fresh copy, else None.

        No await and no round trip: the caller falls back to ``menu_json_by_slug`` on None.
        Only slugs that named a store once are remembered, so an unknown or malformed slug
        always gets None here.
        """
        store_id = self._slug_ids.get(slug)
        if store_id is None:
            return None
        local = self._local.get(store_id)
        if local is None or local.expires_at <= time.monotonic() or not self._may_keep():
            return None
        self._slug_hits.inc()
        self._menu_hits.inc()
        return local.value

    async def menu_of_store(
        self, store_id: uuid.UUID, session: AsyncSession | None = None
    ) -> MenuOut | None:
        """Return a store's menu, or None when the store does not exist.

        ``session`` is the caller's, if it has one: it is read only when it may hold
        SQLite's write lock, or when it changed this menu and has not committed yet.

        The menu returned may be the same object for every caller until the menu changes,
        so callers must treat it as read-only and copy what they want to change.
        """
        if session is not None and has_menu_change(session, store_id):
            # The caller's uncommitted change must not reach the cache.
            return await load_menu_out(session, store_id)
        value = await self._menu_json(store_id, session)
        if value is None:
            return None
        local = self._local.get(store_id)
        if local is None or local.value is not value:
            # Not kept in memory: this caller gets a model of its own.
            return MenuOut.model_validate_json(value)
        if local.menu is None:
            local.menu = MenuOut.model_validate_json(value)
        return local.menu

    async def _menu_json(self, store_id: uuid.UUID, session: AsyncSession | None) -> bytes | None:
        if session is not None and has_menu_change(session, store_id):
            menu = await load_menu_out(session, store_id)
            return None if menu is None else menu.model_dump_json().encode()
        local = self._local.get(store_id)
        if local is not None and local.expires_at > time.monotonic() and self._may_keep():
            self._menu_hits.inc()
            return local.value
        if self.channel is not None:
            self.channel.start()
        generation = self._generation
        value = await self._shared_menu_json(store_id, session)
        if value is not None and generation == self._generation and self._may_keep():
            if len(self._local) >= MAX_LOCAL_MENUS:
                self._local.clear()
            self._local[store_id] = _LocalMenu(time.monotonic() + LOCAL_TTL_SECONDS, value)
        return value

    def _may_keep(self) -> bool:
        """Return whether local copies may be kept and served now."""
        if self._unpublished:
            return False
        return self.channel is None or self.channel.listening

    def _drop(self, store_ids: Iterable[uuid.UUID]) -> None:
        self._generation += 1
        for store_id in store_ids:
            self._local.pop(store_id, None)

    def _drop_all(self) -> None:
        self._generation += 1
        self._local.clear()

    async def _shared_menu_json(
        self, store_id: uuid.UUID, session: AsyncSession | None
    ) -> bytes | None:
        async def load() -> bytes | None:
            async with self._reader(session) as reader:
                menu = await load_menu_out(reader, store_id)
            return None if menu is None else menu.model_dump_json().encode()

        async def key() -> str:
            return await self.menu_key(store_id)

        return await self.read_through.fetch(
            "menu", key, load, ttl_seconds=self.ttl_seconds, wait=not _holds_write_lock(session)
        )

    async def publish(self, store_ids: Iterable[uuid.UUID]) -> None:
        """Give each store a new menu version, so that every replica reloads its menu.

        When the backend fails, the stores are kept and retried before this cache's next
        menu read. Other replicas can serve the old menu until then, or until its TTL ends.
        """
        store_ids = set(store_ids)
        self._drop(store_ids)
        self._unpublished.update(store_ids)
        try:
            await self._write_versions()
        except BACKEND_ERRORS as error:
            CACHE_REQUESTS.labels(cache="menu_version", result="error").inc()
            logger.warning(
                "menu_cache.publish_failed",
                store_ids=sorted(str(store_id) for store_id in self._unpublished),
                error=repr(error.__cause__ or error),
            )

    async def close(self) -> None:
        if self.channel is not None:
            await self.channel.close()
        self._drop_all()
        await self.read_through.cache.close()

    def _key(self, *parts: object) -> str:
        return ":".join([self.key_prefix, *(str(part) for part in parts)])

    async def _write_versions(self) -> None:
        for store_id in list(self._unpublished):
            version_key = self._key("menu-version", store_id)
            await self.read_through.cache.set(
                version_key, _new_version(), expire=VERSION_TTL_SECONDS
            )
            if self.channel is not None:
                await self.channel.publish(str(store_id))
            self._unpublished.discard(store_id)

    async def menu_key(self, store_id: uuid.UUID) -> str:
        """Return the key of the store's current menu version, creating a version if none."""
        if self._unpublished:
            await self._write_versions()
        cache = self.read_through.cache
        version_key = self._key("menu-version", store_id)
        version = await cache.get(version_key)
        if version is None:
            candidate = _new_version()
            created = await cache.set(
                version_key, candidate, expire=VERSION_TTL_SECONDS, exist=False
            )
            version = candidate if created else await cache.get(version_key, candidate)
        return self._key("menu", store_id, version)

    async def _store_id_by_slug(self, slug: str, session: AsyncSession | None) -> uuid.UUID:
        # A malformed slug names no store. Checking it first keeps arbitrary text out of keys.
        if len(slug) > MAX_SLUG_LENGTH or re.fullmatch(SLUG_PATTERN, slug) is None:
            raise _store_not_found(slug)
        known = self._slug_ids.get(slug)
        if known is not None:
            self._slug_hits.inc()
            return known

        async def load() -> bytes | None:
            async with self._reader(session) as reader:
                store_id = await reader.scalar(select(Store.id).where(Store.slug == slug))
            return None if store_id is None else str(store_id).encode()

        async def key() -> str:
            return self._key("store-slug", slug)

        value = await self.read_through.fetch(
            "store_slug",
            key,
            load,
            ttl_seconds=self.ttl_seconds,
            wait=not _holds_write_lock(session),
        )
        if value is None:
            raise _store_not_found(slug)
        store_id = uuid.UUID(value.decode())
        if len(self._slug_ids) >= MAX_REMEMBERED_SLUGS:
            self._slug_ids.clear()
        self._slug_ids[slug] = store_id
        return store_id

    @asynccontextmanager
    async def _reader(self, session: AsyncSession | None) -> AsyncIterator[AsyncSession]:
        if session is not None and _holds_write_lock(session):
            yield session
            return
        async with self.session_factory() as own:
            yield own


def create_menu_cache(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> MenuCache:
    """Create the menu cache and attach it to every session ``session_factory`` makes."""
    menu_cache = MenuCache(
        ReadThroughCache(create_cache(settings)),
        session_factory,
        ttl_seconds=settings.cache_ttl_seconds,
        key_prefix=settings.cache_key_prefix,
        redis_url=settings.redis_url,
    )
    attach_to_sessions(session_factory, _SESSION_INFO_KEY, menu_cache)
    return menu_cache


def menu_cache_of(session: AsyncSession) -> MenuCache | None:
    """Return the menu cache attached to the session's factory, if any."""
    menu_cache = session.info.get(_SESSION_INFO_KEY)
    return menu_cache if isinstance(menu_cache, MenuCache) else None


async def read_menu(session: AsyncSession, store_id: uuid.UUID) -> MenuOut | None:
    """Return a store's menu through the session's menu cache, or from the database."""
    # Sessions of a factory without a menu cache load the whole menu from the database.
    menu_cache = menu_cache_of(session)
    if menu_cache is None:
        return await load_menu_out(session, store_id)
    return await menu_cache.menu_of_store(store_id, session)


async def commit_and_publish(session: AsyncSession) -> None:
    """Commit the session, then publish the menu changes its transaction recorded."""
    await session.commit()
    changes = take_menu_changes(session)
    menu_cache = menu_cache_of(session)
    if changes and menu_cache is not None:
        await menu_cache.publish(changes)


async def publish_menu_changes(session: SessionDep) -> AsyncIterator[None]:
    """Commit the request's session when the route returns, then publish its menu changes.

    This runs before the response is sent, so a client that got the response reads the new
    menu on this replica, and on the others once the version message reaches them, unless
    publishing failed (see ``MenuCache.publish``). The session dependency's own commit then
    finds nothing to write.
    """
    yield
    await commit_and_publish(session)


# For routers whose writes change menus: APIRouter(dependencies=[PublishMenuChanges]).
PublishMenuChanges = Depends(publish_menu_changes, scope="function")


# A coroutine, because FastAPI runs a plain function dependency in a worker thread.
async def get_menu_cache(request: Request) -> MenuCache:
    menu_cache: MenuCache = request.app.state.menu_cache
    return menu_cache


MenuCacheDep = Annotated[MenuCache, Depends(get_menu_cache)]
