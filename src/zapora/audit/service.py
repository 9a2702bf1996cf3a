"""Write audit entries in the caller's transaction and read them back a page at a time.

An entry is added with the change it describes and flushed with it, so it exists exactly
when the change is committed. Nothing here updates or deletes an entry.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, cast

import structlog
from sqlalchemy import Table, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from zapora import pagination
from zapora.audit.models import AuditEntry
from zapora.auth.models import User
from zapora.db import utcnow
from zapora.errors import InvalidInputError

# Fields whose values never enter the log. A non-null value is stored as REDACTED, so an
# entry still shows that the field was set or changed.
SECRET_FIELDS = frozenset({"whatsapp_access_token", "password", "password_hash"})
REDACTED = "<changed>"


@dataclass(frozen=True)
class Actor:
    """The author of a change: a staff user, a customer, the system or an anonymous caller."""

    type: str
    id: uuid.UUID | None = None
    role: str | None = None

    @classmethod
    def staff(cls, user: User) -> Actor:
        return cls(type="staff", id=user.id, role=user.role)

    @classmethod
    def customer(cls, customer_id: uuid.UUID) -> Actor:
        return cls(type="customer", id=customer_id)


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


def _redact(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not values:
        return None
    return {
        key: REDACTED if key in SECRET_FIELDS and value is not None else _jsonable(value)
        for key, value in values.items()
    }


def snapshot(obj: object, fields: Iterable[str]) -> dict[str, Any]:
    """Return the named attributes of ``obj`` as JSON-ready values."""
    return {name: _jsonable(getattr(obj, name)) for name in fields}


def diff(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Keep only the fields whose value changed, as (before, after)."""
    changed = [key for key in after if before.get(key) != after[key]]
    return {key: before.get(key) for key in changed}, {key: after[key] for key in changed}


def _entry_values(
    *,
    action: str,
    actor: Actor,
    store_id: uuid.UUID | None,
    target_type: str | None,
    target_id: uuid.UUID | str | None,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> dict[str, Any]:
    context = structlog.contextvars.get_contextvars()
    return {
        "store_id": store_id,
        "actor_type": actor.type,
        "actor_id": actor.id,
        "actor_role": actor.role,
        "action": action,
        "target_type": target_type,
        "target_id": str(target_id) if target_id is not None else None,
        "before": _redact(before),
        "after": _redact(after),
        "ip": context.get("client_ip"),
        "request_id": context.get("request_id"),
    }


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
    flush: bool = True,
) -> AuditEntry:
    """Add one audit entry; the request id and client IP come from the request's log context.

    ``action`` is a dotted name such as ``order.transitioned`` or ``auth.login_failed``.
    Values of the fields in SECRET_FIELDS are replaced by REDACTED. Other secrets must
    never be passed in ``before`` or ``after``. With ``flush`` false the entry waits for
    the caller's next flush, which writes it together with the change it describes.
    """
    entry = AuditEntry(
        **_entry_values(
            action=action,
            actor=actor,
            store_id=store_id,
            target_type=target_type,
            target_id=target_id,
            before=before,
            after=after,
        )
    )
    session.add(entry)
    if flush:
        await session.flush()
    return entry


AUDIT_LOG = cast(Table, AuditEntry.__table__)


def entry_row(
    *,
    action: str,
    actor: Actor,
    store_id: uuid.UUID | None,
    target_type: str | None = None,
    target_id: uuid.UUID | str | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the row :func:`record` would write, for a caller that inserts it with Core.

    A caller writing its other rows with Core statements adds this one to them, which
    skips the cost of an ORM flush.
    """
    values = _entry_values(
        action=action,
        actor=actor,
        store_id=store_id,
        target_type=target_type,
        target_id=target_id,
        before=before,
        after=after,
    )
    return {"id": uuid.uuid4(), "created_at": utcnow(), **values}


@dataclass(frozen=True)
class AuditFilter:
    """Conditions an entry must meet to be listed; None means any value."""

    store_id: uuid.UUID | None = None
    # An action ending in "." matches every action that starts with it, e.g. "catalog.".
    action: str | None = None
    actor_id: uuid.UUID | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AuditListPage:
    entries: list[AuditEntry]
    next_cursor: str | None


def encode_cursor(entry: AuditEntry) -> str:
    """Encode the position after ``entry`` in the newest-first listing as an opaque string."""
    return pagination.encode_cursor(entry.created_at, entry.id)


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    return pagination.decode_cursor(cursor)


def _conditions(conditions: AuditFilter) -> list[Any]:
    if (
        conditions.since is not None
        and conditions.until is not None
        and conditions.until <= conditions.since
    ):
        raise InvalidInputError(
            "until must be later than since.",
            field="until",
            fix="send an until later than since, or leave one of them out",
        )
    criteria: list[Any] = []
    if conditions.store_id is not None:
        criteria.append(AuditEntry.store_id == conditions.store_id)
    if conditions.action is not None:
        if conditions.action.endswith("."):
            criteria.append(AuditEntry.action.startswith(conditions.action, autoescape=True))
        else:
            criteria.append(AuditEntry.action == conditions.action)
    if conditions.actor_id is not None:
        criteria.append(AuditEntry.actor_id == conditions.actor_id)
    if conditions.target_type is not None:
        criteria.append(AuditEntry.target_type == conditions.target_type)
    if conditions.target_id is not None:
        criteria.append(AuditEntry.target_id == conditions.target_id)
    if conditions.since is not None:
        criteria.append(AuditEntry.created_at >= conditions.since)
    if conditions.until is not None:
        criteria.append(AuditEntry.created_at < conditions.until)
    return criteria


async def list_entries(
    session: AsyncSession, conditions: AuditFilter, *, limit: int = 50, cursor: str | None = None
) -> AuditListPage:
    """Return one page of the entries matching ``conditions``, newest first, ties by id.

    ``since`` is inclusive and ``until`` exclusive.
    """
    query = select(AuditEntry).where(*_conditions(conditions))
    if cursor is not None:
        created_at, entry_id = decode_cursor(cursor)
        query = query.where(
            or_(
                AuditEntry.created_at < created_at,
                and_(AuditEntry.created_at == created_at, AuditEntry.id < entry_id),
            )
        )
    query = query.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).limit(limit + 1)
    entries = list(await session.scalars(query))
    if len(entries) <= limit:
        return AuditListPage(entries=entries, next_cursor=None)
    page = entries[:limit]
    return AuditListPage(entries=page, next_cursor=encode_cursor(page[-1]))
