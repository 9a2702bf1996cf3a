"""Stores whose public menu a session's transaction changed, to publish after it commits.

Services record each change with ``note_menu_change``. The code that commits the session
publishes them (see ``zapora.catalog.cache.commit_and_publish``), so that cached menus are
replaced only once the new rows are visible to other connections.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

_CHANGES_KEY = "zapora.menu_changes"


def note_menu_change(session: AsyncSession, store_id: uuid.UUID) -> None:
    """Record that this session's transaction changes the menu of ``store_id``."""
    changes: set[uuid.UUID] = session.info.setdefault(_CHANGES_KEY, set())
    changes.add(store_id)


def has_menu_change(session: AsyncSession, store_id: uuid.UUID) -> bool:
    """Return whether this session has an unpublished change to the menu of ``store_id``."""
    return store_id in session.info.get(_CHANGES_KEY, ())


def take_menu_changes(session: AsyncSession) -> set[uuid.UUID]:
    """Return the stores recorded so far and forget them."""
    changes: set[uuid.UUID] = session.info.pop(_CHANGES_KEY, set())
    return changes
