"""Catalog and address reads and writes for the conversation, always scoped to one store.

Catalog reads come from the store's menu through the menu cache. They return read-only
views built from the menu, once per menu version, so they carry only what the menu shows
and no caller can change what another reads. Placing an order prices from the database
instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.catalog.cache import read_menu
from zapora.catalog.schemas import MenuItem, MenuOut
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


@dataclass(frozen=True, slots=True, eq=False)
class MenuOptionView:
    id: uuid.UUID
    name: str
    price: int
    is_available: bool


@dataclass(frozen=True, slots=True, eq=False)
class MenuGroupView:
    id: uuid.UUID
    name: str
    min_choices: int
    max_choices: int
    options: tuple[MenuOptionView, ...]


@dataclass(frozen=True, slots=True, eq=False)
class MenuItemView:
    id: uuid.UUID
    category_id: uuid.UUID
    name: str
    description: str
    price: int
    is_available: bool
    option_groups: tuple[MenuGroupView, ...]


@dataclass(frozen=True, slots=True, eq=False)
class MenuCategoryView:
    id: uuid.UUID
    name: str


@dataclass(frozen=True, slots=True, eq=False)
class _MenuView:
    """One menu as the conversation reads it, with lookups by id."""

    categories: Mapping[uuid.UUID, MenuCategoryView]
    # Categories that have an orderable item, in menu order.
    offered: tuple[MenuCategoryView, ...]
    # Each category's orderable items, in menu order.
    orderable: Mapping[uuid.UUID, tuple[MenuItemView, ...]]
    items: Mapping[uuid.UUID, MenuItemView]


_EMPTY_VIEW = _MenuView(MappingProxyType({}), (), MappingProxyType({}), MappingProxyType({}))
# The view of the menu object each store's cache returned last. The cache returns the same
# object until the menu changes, so the view is built once per menu version.
_views: dict[uuid.UUID, tuple[MenuOut, _MenuView]] = {}
MAX_VIEWS = 1_000


def _item_view(category_id: uuid.UUID, item: MenuItem) -> MenuItemView:
    groups = tuple(
        MenuGroupView(
            group.id,
            group.name,
            group.min_choices,
            group.max_choices,
            tuple(
                MenuOptionView(option.id, option.name, option.price, option.is_available)
                for option in group.options
            ),
        )
        for group in item.option_groups
    )
    return MenuItemView(
        item.id,
        category_id,
        item.name,
        item.description,
        item.price,
        item.is_available,
        groups,
    )


def _is_orderable(item: MenuItemView) -> bool:
    """Return whether the item is available and each option group can reach its minimum."""
    return item.is_available and all(
        sum(option.is_available for option in group.options) >= group.min_choices
        for group in item.option_groups
    )


def _build_view(menu: MenuOut) -> _MenuView:
    categories: dict[uuid.UUID, MenuCategoryView] = {}
    offered: list[MenuCategoryView] = []
    orderable: dict[uuid.UUID, tuple[MenuItemView, ...]] = {}
    items: dict[uuid.UUID, MenuItemView] = {}
    for category in menu.categories:
        view = MenuCategoryView(category.id, category.name)
        categories.setdefault(category.id, view)
        category_items = [_item_view(category.id, item) for item in category.items]
        for item in category_items:
            items.setdefault(item.id, item)
        available = tuple(item for item in category_items if _is_orderable(item))
        orderable.setdefault(category.id, available)
        if available:
            offered.append(view)
    return _MenuView(
        MappingProxyType(categories),
        tuple(offered),
        MappingProxyType(orderable),
        MappingProxyType(items),
    )


async def _menu_view(session: AsyncSession, store_id: uuid.UUID) -> _MenuView:
    menu = await read_menu(session, store_id)
    if menu is None:
        return _EMPTY_VIEW
    known = _views.get(store_id)
    if known is not None and known[0] is menu:
        return known[1]
    view = _build_view(menu)
    if len(_views) >= MAX_VIEWS:
        _views.clear()
    _views[store_id] = (menu, view)
    return view


async def list_menu_categories(
    session: AsyncSession, store_id: uuid.UUID
) -> tuple[MenuCategoryView, ...]:
    """List the store's categories that have an orderable item, in menu order."""
    return (await _menu_view(session, store_id)).offered


async def get_category(
    session: AsyncSession, store_id: uuid.UUID, category_id: uuid.UUID
) -> MenuCategoryView | None:
    return (await _menu_view(session, store_id)).categories.get(category_id)


async def list_available_items(
    session: AsyncSession, store_id: uuid.UUID, category_id: uuid.UUID
) -> tuple[MenuItemView, ...]:
    """List a category's orderable items in menu order, each with its option groups."""
    return (await _menu_view(session, store_id)).orderable.get(category_id, ())


async def get_item_with_options(
    session: AsyncSession, store_id: uuid.UUID, item_id: uuid.UUID
) -> MenuItemView | None:
    """Return one of the store's items with its option groups and options, in menu order."""
    return (await _menu_view(session, store_id)).items.get(item_id)


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
