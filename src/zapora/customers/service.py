"""Customers: created or refreshed from WhatsApp deliveries, keyed on (store, wa_id)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import case, func, or_
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


async def upsert_customer(
    session: AsyncSession, store_id: uuid.UUID, contact: ContactDetails
) -> uuid.UUID:
    """Create the store's customer for ``contact.wa_id`` or refresh it; return its id.

    One ``INSERT ... ON CONFLICT DO UPDATE`` statement, so two replicas storing the first
    messages of a new customer at once still create one row. ``last_message_at`` only moves
    forwards because deliveries arrive in no guaranteed order.
    """
    profile_name = (contact.profile_name or "")[:PROFILE_NAME_MAX_LENGTH] or None
    user_id = contact.business_scoped_user_id
    if user_id is not None and len(user_id) > BUSINESS_SCOPED_USER_ID_MAX_LENGTH:
        # NOTE: providers document BSUIDs as a country code, a dot and up to 128 characters,
        # so the longest ones exceed the column and are dropped rather than truncated.
        user_id = None
    now = utcnow()
    statement = _insert(session).values(
        id=uuid.uuid4(),
        store_id=store_id,
        wa_id=contact.wa_id,
        profile_name=profile_name,
        business_scoped_user_id=user_id,
        last_message_at=contact.last_message_at,
        created_at=now,
        updated_at=now,
    )
    excluded = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=[Customer.store_id, Customer.wa_id],
        set_={
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
            "updated_at": now,
        },
    ).returning(Customer.id)
    customer_id: uuid.UUID = (await session.execute(statement)).scalar_one()
    return customer_id
