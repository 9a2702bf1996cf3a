"""Callers' accounts cached in process memory for a few seconds, so that a read skips a query.

Only routes marked ``@reads_only`` take the caller from here (see
``zapora.dependencies.get_current_user``). A route that writes loads the account in its own
session, because it may change it, and so reads the committed row.

A cached account is a detached ``User`` without its password hash, shared by concurrent
requests, so it must be treated as read-only. It is checked against each token's claims like
a loaded one. A token newer than the cached account (a login right after a password change)
reloads the account instead of being rejected.

Revocation: a change made through ``zapora.auth.service`` or ``zapora.auth.staff_service``
is noted in the session (``note_account_change``) and announced once the session is done
(``UserCache.announce``). This process drops the account at once. Every other process drops
it when the message arrives over Redis pub/sub (``{prefix}:account-changes``). Other processes
cache accounts only while subscribed, and a cached account expires after
``LOCAL_TTL_SECONDS``. That bounds how long another process can accept a revoked token when
a message is lost, when Redis is not configured (each process then caches on its own), and
after a change made outside those services, such as a direct SQL update.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.auth.models import User
from zapora.cache import BACKEND_ERRORS, InvalidationChannel, drop_by_id
from zapora.config import Settings

logger = structlog.get_logger(__name__)

# How long a process uses a cached account before it reads the row again.
LOCAL_TTL_SECONDS = 5.0
# Maximum count of accounts cached in process memory. Past it they are all dropped.
MAX_LOCAL_USERS = 10_000
_CHANGES_KEY = "zapora.account_changes"


def note_account_change(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Record that the session changed this account, to announce when the session is done."""
    changes: set[uuid.UUID] = session.info.setdefault(_CHANGES_KEY, set())
    changes.add(user_id)


def take_account_changes(session: AsyncSession) -> set[uuid.UUID]:
    """Return and forget the accounts the session changed."""
    changes: set[uuid.UUID] = session.info.pop(_CHANGES_KEY, set())
    return changes


@dataclass(slots=True)
class _CachedUser:
    expires_at: float
    user: User


class UserCache:
    """Accounts by id, each cached ``LOCAL_TTL_SECONDS`` at most and dropped when announced."""

    def __init__(self, *, redis_url: str = "", key_prefix: str = "zapora") -> None:
        self._users: dict[uuid.UUID, _CachedUser] = {}
        # Number of times accounts were dropped. A load that started under another number
        # caches nothing, because the row it read may predate the change just announced.
        self.generation = 0
        self.channel: InvalidationChannel | None = None
        if redis_url:
            self.channel = InvalidationChannel(
                redis_url,
                f"{key_prefix}:account-changes",
                on_message=drop_by_id(self._drop, self._drop_all),
                on_reset=self._drop_all,
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> UserCache:
        return cls(redis_url=settings.redis_url, key_prefix=settings.cache_key_prefix)

    def get(self, user_id: uuid.UUID) -> User | None:
        """Return the cached account, or None when it is missing, expired or may be stale."""
        cached = self._users.get(user_id)
        if cached is not None and cached.expires_at > time.monotonic() and self._may_keep():
            return cached.user
        if self.channel is not None:
            self.channel.start()
        return None

    def keep(self, user: User, generation: int) -> None:
        """Cache an account loaded while ``generation`` was current, unless a drop came since."""
        if generation != self.generation or not self._may_keep():
            return
        if len(self._users) >= MAX_LOCAL_USERS:
            self._users.clear()
        self._users[user.id] = _CachedUser(time.monotonic() + LOCAL_TTL_SECONDS, user)

    async def announce(self, user_ids: Iterable[uuid.UUID]) -> None:
        """Drop these accounts here at once and tell every other process to drop them.

        Call it after the change committed, because a process that reloads an account before
        the commit would cache the old row. Announcing a change that was rolled back only
        costs a reload.
        """
        user_ids = set(user_ids)
        self._drop(user_ids)
        if self.channel is None:
            return
        for user_id in user_ids:
            try:
                await self.channel.publish(str(user_id))
            except BACKEND_ERRORS as error:
                logger.warning(
                    "user_cache.announce_failed",
                    user_id=str(user_id),
                    error=repr(error),
                    action=f"other processes drop the account within {LOCAL_TTL_SECONDS:g} s",
                )

    async def close(self) -> None:
        if self.channel is not None:
            await self.channel.close()
        self._drop_all()

    def _may_keep(self) -> bool:
        return self.channel is None or self.channel.listening

    def _drop(self, user_ids: Iterable[uuid.UUID]) -> None:
        self.generation += 1
        for user_id in user_ids:
            self._users.pop(user_id, None)

    def _drop_all(self) -> None:
        self.generation += 1
        self._users.clear()
