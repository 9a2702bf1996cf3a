"""Count business events only once the transaction that wrote them commits.

Services flush and never commit, and a caller may still roll back, wholly or to a savepoint.
An increment is therefore kept on the innermost open transaction of the session. A
savepoint that is released hands its increments to the enclosing transaction, and the
outermost commit applies them. A rollback at any level drops the increments of the
transactions it ends.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

_PENDING_KEY = "zapora.pending_increments"

Increment = tuple[Counter, dict[str, str]]


def _innermost(session: Session) -> SessionTransaction | None:
    return session.get_nested_transaction() or session.get_transaction()


def _pending(session: Session) -> dict[SessionTransaction, list[Increment]]:
    pending: dict[SessionTransaction, list[Increment]] = session.info.setdefault(_PENDING_KEY, {})
    return pending


def _apply(increments: list[Increment]) -> None:
    for counter, labels in increments:
        counter.labels(**labels).inc()


def increment_on_commit(session: AsyncSession, counter: Counter, **labels: str) -> None:
    """Increment ``counter`` with ``labels`` when the session's current transaction commits.

    Without an open transaction there is nothing to wait for, so the counter moves at once.
    """
    transaction = _innermost(session.sync_session)
    if transaction is None:
        _apply([(counter, labels)])
        return
    _pending(session.sync_session).setdefault(transaction, []).append((counter, labels))


@event.listens_for(Session, "after_commit")
def _on_commit(session: Session) -> None:
    # The committed transaction is still the innermost one while this event runs.
    transaction = _innermost(session)
    if transaction is None:
        return
    increments = _pending(session).pop(transaction, None)
    if not increments:
        return
    if transaction.nested and transaction.parent is not None:
        _pending(session).setdefault(transaction.parent, []).extend(increments)
    else:
        _apply(increments)


@event.listens_for(Session, "after_transaction_end")
def _on_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    # A committed transaction's increments were taken in _on_commit, so what is left here
    # belongs to a transaction that was rolled back or closed without a commit.
    pending: dict[Any, list[Increment]] | None = session.info.get(_PENDING_KEY)
    if pending:
        pending.pop(transaction, None)
