"""Catalog and address reads and writes for the conversation, always scoped to one store.

Catalog reads come from the store's menu through the menu cache. They return detached
copies of the catalog rows, built from the menu and never added to a session, so they
carry only what the menu shows. Placing an order prices from the database instead.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.catalog.cache import read_menu
from zapora.catalog.models import Category, Item, Option, OptionGroup
from zapora.catalog.schemas import MenuCategory, MenuItem
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


def _category_copy(store_id: uuid.UUID, category: MenuCategory) -> Category:
    return Category(id=category.id, store_id=store_id, name=category.name)


def _item_copy(store_id: uuid.UUID, category_id: uuid.UUID, item: MenuItem) -> Item:
    groups = [
        OptionGroup(
            id=group.id,
            store_id=store_id,
            item_id=item.id,
            name=group.name,
            min_choices=group.min_choices,
            max_choices=group.max_choices,
            options=[
                Option(
                    id=option.id,
                    store_id=store_id,
                    group_id=group.id,
                    name=option.name,
                    price=option.price,
                    is_available=option.is_available,
                )
                for option in group.options
            ],
        )
        for group in item.option_groups
    ]
    return Item(
        id=item.id,
        store_id=store_id,
        category_id=category_id,
        name=item.name,
        description=item.description,
        price=item.price,
        is_available=item.is_available,
        option_groups=groups,
    )


async def _menu_categories(session: AsyncSession, store_id: uuid.UUID) -> list[MenuCategory]:
    menu = await read_menu(session, store_id)
    return [] if menu is None else menu.categories


async def _menu_category(
    session: AsyncSession, store_id: uuid.UUID, category_id: uuid.UUID
) -> MenuCategory | None:
    categories = await _menu_categories(session, store_id)
    return next((category for category in categories if category.id == category_id), None)


def _is_orderable(item: MenuItem) -> bool:
    """Return whether the item is available and each option group can reach its minimum."""
    return item.is_available and all(
        sum(option.is_available for option in group.options) >= group.min_choices
        for group in item.option_groups
    )


async def list_menu_categories(session: AsyncSession, store_id: uuid.UUID) -> list[Category]:
    """List the store's categories that have an orderable item, in menu order."""
    return [
        _category_copy(store_id, category)
        for category in await _menu_categories(session, store_id)
        if any(_is_orderable(item) for item in category.items)
    ]


async def get_category(
    session: AsyncSession, store_id: uuid.UUID, category_id: uuid.UUID
) -> Category | None:
    category = await _menu_category(session, store_id, category_id)
    return None if category is None else _category_copy(store_id, category)


async def list_available_items(
    session: AsyncSession, store_id: uuid.UUID, category_id: uuid.UUID
) -> list[Item]:
    """List a category's orderable items in menu order, each with its option groups."""
    category = await _menu_category(session, store_id, category_id)
    if category is None:
        return []
    return [
        _item_copy(store_id, category.id, item) for item in category.items if _is_orderable(item)
    ]


async def get_item_with_options(
    session: AsyncSession, store_id: uuid.UUID, item_id: uuid.UUID
) -> Item | None:
    """Return one of the store's items with its option groups and options, in menu order."""
    for category in await _menu_categories(session, store_id):
        for item in category.items:
            if item.id == item_id:
                return _item_copy(store_id, category.id, item)
    return None


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
