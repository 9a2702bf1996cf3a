"""Stores whose opening hours, closures or delivery zones a session's transaction changed.

Services record each change with ``note_terms_change``. The code that commits the session
announces them (see ``zapora.stores.terms_cache.publish_terms_changes``), so that copies of
those terms kept in process memory are dropped only once the new rows are visible.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

_CHANGES_KEY = "zapora.store_terms_changes"


def note_terms_change(session: AsyncSession, store_id: uuid.UUID) -> None:
    """Record that this session's transaction changes the hours or zones of ``store_id``."""
    changes: set[uuid.UUID] = session.info.setdefault(_CHANGES_KEY, set())
    changes.add(store_id)


def has_terms_change(session: AsyncSession, store_id: uuid.UUID) -> bool:
    """Return whether this session has an unannounced change to the terms of ``store_id``."""
    return store_id in session.info.get(_CHANGES_KEY, ())


def has_terms_changes(session: AsyncSession) -> bool:
    """Return whether this session recorded a change to any store's terms."""
    return bool(session.info.get(_CHANGES_KEY))


def take_terms_changes(session: AsyncSession) -> set[uuid.UUID]:
    """Return the stores recorded so far and forget them."""
    changes: set[uuid.UUID] = session.info.pop(_CHANGES_KEY, set())
    return changes
