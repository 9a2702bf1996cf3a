"""Write audit entries in the caller's transaction: an entry exists exactly when its change does."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.audit.models import AuditEntry
from zapora.auth.models import User


@dataclass(frozen=True)
class Actor:
    """Who did it: a staff user, a customer, the system, or an anonymous caller."""

    type: str
    id: uuid.UUID | None = None
    role: str | None = None

    @classmethod
    def staff(cls, user: User) -> Actor:
        return cls(type="staff", id=user.id, role=user.role)


SYSTEM = Actor(type="system")
ANONYMOUS = Actor(type="anonymous")


def _jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def snapshot(obj: object, fields: Iterable[str]) -> dict[str, Any]:
    """Return the named attributes of ``obj`` as JSON-ready values."""
    return {name: _jsonable(getattr(obj, name)) for name in fields}


def diff(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Keep only the fields whose value changed, as (before, after)."""
    changed = [key for key in after if before.get(key) != after[key]]
    return {key: before.get(key) for key in changed}, {key: after[key] for key in changed}


async def record(
    session: AsyncSession,
    *,
    action: str,
    actor: Actor,
    store_id: uuid.UUID | None,
    target_type: str | None = None,
    target_id: uuid.UUID | str | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Add one audit entry; the request id and client IP come from the request's log context.

    ``action`` is a dotted name such as ``order.transitioned`` or ``auth.login_failed``.
    Secrets (passwords, tokens) must never be passed in ``before`` or ``after``.
    """
    context = structlog.contextvars.get_contextvars()
    entry = AuditEntry(
        store_id=store_id,
        actor_type=actor.type,
        actor_id=actor.id,
        actor_role=actor.role,
        action=action,
        target_type=target_type,
        target_id=str(target_id) if target_id is not None else None,
        before={key: _jsonable(value) for key, value in before.items()} if before else None,
        after={key: _jsonable(value) for key, value in after.items()} if after else None,
        ip=context.get("client_ip"),
        request_id=context.get("request_id"),
    )
    session.add(entry)
    await session.flush()
    return entry
