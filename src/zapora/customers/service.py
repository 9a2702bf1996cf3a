"""Customers: created or refreshed from WhatsApp deliveries, keyed on (store, wa_id)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, case, func, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.customers.models import Customer
from zapora.customers.schemas import ContactDetails
from zapora.db import utcnow

PROFILE_NAME_MAX_LENGTH = 256
BUSINESS_SCOPED_USER_ID_MAX_LENGTH = 128


def _insert(session: AsyncSession) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(Customer)
    return sqlite.insert(Customer)


def stored_profile_name(contact: ContactDetails) -> str | None:
    """Return the profile name as the column keeps it: cut to its length, None when empty."""
    return (contact.profile_name or "")[:PROFILE_NAME_MAX_LENGTH] or None


def stored_user_id(contact: ContactDetails) -> str | None:
    """Return the business-scoped user id, or None when it does not fit the column.

    NOTE: providers document BSUIDs as a country code, a dot and up to 128 characters,
    so the longest ones exceed the column and are dropped rather than truncated.
    """
    user_id = contact.business_scoped_user_id
    if user_id is not None and len(user_id) > BUSINESS_SCOPED_USER_ID_MAX_LENGTH:
        return None
    return user_id


def refresh_on_conflict(excluded: Any, updated_at: Any) -> dict[str, ColumnElement[Any] | Any]:
    """Return the SET clause that refreshes an existing customer from a new delivery.

    A name or user id left out of the delivery keeps the stored one, and
    ``last_message_at`` only moves forwards because deliveries arrive in no guaranteed order.
    """
    return {
        "profile_name": func.coalesce(excluded.profile_name, Customer.profile_name),
        "business_scoped_user_id": func.coalesce(
            excluded.business_scoped_user_id, Customer.business_scoped_user_id
        ),
        "last_message_at": case(
            (
                or_(
                    Customer.last_message_at.is_(None),
                    Customer.last_message_at < excluded.last_message_at,
                ),
                excluded.last_message_at,
            ),
            else_=Customer.last_message_at,
        ),
        "updated_at": updated_at,
    }


async def upsert_customer(
    session: AsyncSession, store_id: uuid.UUID, contact: ContactDetails
) -> uuid.UUID:
    """Create the store's customer for ``contact.wa_id`` or refresh it; return its id.

    One ``INSERT ... ON CONFLICT DO UPDATE`` statement, so two replicas storing the first
    messages of a new customer at once still create one row. ``last_message_at`` only moves
    forwards because deliveries arrive in no guaranteed order.
    """
    now = utcnow()
    statement = _insert(session).values(
        id=uuid.uuid4(),
        store_id=store_id,
        wa_id=contact.wa_id,
        profile_name=stored_profile_name(contact),
        business_scoped_user_id=stored_user_id(contact),
        last_message_at=contact.last_message_at,
        created_at=now,
        updated_at=now,
    )
    statement = statement.on_conflict_do_update(
        index_elements=[Customer.store_id, Customer.wa_id],
        set_=refresh_on_conflict(statement.excluded, now),
    ).returning(Customer.id)
    customer_id: uuid.UUID = (await session.execute(statement)).scalar_one()
    return customer_id
