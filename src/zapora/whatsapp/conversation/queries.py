"""Catalog and address reads and writes for the conversation, always scoped to one store."""

from __future__ import annotations

import uuid

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.expression import Exists

from zapora.catalog.models import Category, Item, OptionGroup
from zapora.customers.models import CustomerAddress
from zapora.db import utcnow
from zapora.whatsapp.models import Conversation


def parse_id(value: str | None) -> uuid.UUID | None:
    """Return the UUID in ``value``, or None: ids in replies come from the customer's phone."""
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def get_conversation(
    session: AsyncSession, store_id: uuid.UUID, customer_id: uuid.UUID
) -> Conversation | None:
    return await session.scalar(
        select(Conversation).where(
            Conversation.store_id == store_id, Conversation.customer_id == customer_id
        )
    )


def _has_available_item() -> Exists:
    return exists().where(Item.category_id == Category.id, Item.is_available.is_(True))


async def list_menu_categories(session: AsyncSession, store_id: uuid.UUID) -> list[Category]:
    """List the store's categories that have an available item, in menu order."""
    rows = await session.scalars(
        select(Category)
        .where(Category.store_id == store_id, _has_available_item())
        .order_by(Category.position, Category.name, Category.id)
    )
    return list(rows)


async def get_category(
    session: AsyncSession, store_id: uuid.UUID, category_id: uuid.UUID
) -> Category | None:
    return await session.scalar(
        select(Category).where(Category.store_id == store_id, Category.id == category_id)
    )


async def list_available_items(
    session: AsyncSession, store_id: uuid.UUID, category_id: uuid.UUID
) -> list[Item]:
    rows = await session.scalars(
        select(Item)
        .where(
            Item.store_id == store_id,
            Item.category_id == category_id,
            Item.is_available.is_(True),
        )
        .order_by(Item.position, Item.name, Item.id)
    )
    return list(rows)


async def get_item_with_options(
    session: AsyncSession, store_id: uuid.UUID, item_id: uuid.UUID
) -> Item | None:
    """Load one of the store's items with its option groups and options, in menu order."""
    return await session.scalar(
        select(Item)
        .where(Item.store_id == store_id, Item.id == item_id)
        .options(selectinload(Item.option_groups).selectinload(OptionGroup.options))
    )


async def last_address(
    session: AsyncSession, store_id: uuid.UUID, customer_id: uuid.UUID
) -> CustomerAddress | None:
    """Return the customer's most recently used address at this store."""
    return await session.scalar(
        select(CustomerAddress)
        .where(CustomerAddress.store_id == store_id, CustomerAddress.customer_id == customer_id)
        .order_by(
            CustomerAddress.last_used_at.desc().nulls_last(),
            CustomerAddress.created_at.desc(),
        )
        .limit(1)
    )


async def touch_address(
    session: AsyncSession,
    store_id: uuid.UUID,
    customer_id: uuid.UUID,
    *,
    text: str | None,
    latitude: float | None,
    longitude: float | None,
) -> CustomerAddress:
    """Mark an address as just used, saving it first when the customer has no identical one."""
    existing = await session.scalars(
        select(CustomerAddress).where(
            CustomerAddress.store_id == store_id,
            CustomerAddress.customer_id == customer_id,
            CustomerAddress.text.is_(None) if text is None else CustomerAddress.text == text,
            CustomerAddress.latitude.is_(None)
            if latitude is None
            else CustomerAddress.latitude == latitude,
            CustomerAddress.longitude.is_(None)
            if longitude is None
            else CustomerAddress.longitude == longitude,
        )
    )
    address = existing.first()
    if address is None:
        address = CustomerAddress(
            store_id=store_id,
            customer_id=customer_id,
            text=text,
            latitude=latitude,
            longitude=longitude,
        )
        session.add(address)
    address.last_used_at = utcnow()
    await session.flush()
    return address
