"""Catalog of a store: categories, items, option groups and options, and the full menu.

Every lookup filters on ``store_id`` as well as the id, so another store's row reads as
missing. Deletes rely on the foreign keys' ``ON DELETE CASCADE``, so removing a category
removes its items, their option groups and their options.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

import structlog
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from zapora.audit.service import Actor, diff, record, snapshot
from zapora.catalog.changes import note_menu_change
from zapora.catalog.models import Category, Item, Option, OptionGroup
from zapora.catalog.schemas import (
    CategoryCreate,
    CategoryUpdate,
    ItemCreate,
    ItemUpdate,
    OptionCreate,
    OptionGroupCreate,
    OptionGroupUpdate,
    OptionUpdate,
)
from zapora.errors import InvalidInputError, NotFoundError

logger = structlog.get_logger(__name__)

CatalogRow = TypeVar("CatalogRow", Category, Item, OptionGroup, Option)

_LABELS: dict[type[Any], tuple[str, str]] = {
    Category: ("Category", "categories"),
    Item: ("Item", "items"),
    OptionGroup: ("Option group", "option groups"),
    Option: ("Option", "options"),
}


# The audit log names each kind like this, in actions such as "catalog.option_group.updated",
# and records the fields of its create body when a row is created or deleted.
_AUDIT_KINDS: dict[type[Any], tuple[str, tuple[str, ...]]] = {
    Category: ("category", tuple(CategoryCreate.model_fields)),
    Item: ("item", tuple(ItemCreate.model_fields)),
    OptionGroup: ("option_group", tuple(OptionGroupCreate.model_fields)),
    Option: ("option", tuple(OptionCreate.model_fields)),
}


def _sort_key(row: Category | Item | OptionGroup | Option) -> tuple[int, str, str]:
    return (row.position, row.name, str(row.id))


async def load_menu(session: AsyncSession, store_id: uuid.UUID) -> list[Category]:
    """Load a store's categories with items, option groups and options, each level in order.

    Every level is sorted by position, then name, then id. Unavailable items and options
    are included, so callers decide whether to show them. Rows already in the session are
    refreshed, so a session kept across transactions reads what the database contains now.
    """
    query = (
        select(Category)
        .where(Category.store_id == store_id)
        .order_by(Category.position, Category.name, Category.id)
        .options(
            selectinload(Category.items)
            .selectinload(Item.option_groups)
            .selectinload(OptionGroup.options)
        )
        .execution_options(populate_existing=True)
    )
    categories = list(await session.scalars(query))
    # The relationships order by position alone, so sorting here makes ties deterministic.
    # Reordering a loaded one-to-many collection writes nothing to the database.
    for category in categories:
        category.items.sort(key=_sort_key)
        for item in category.items:
            item.option_groups.sort(key=_sort_key)
            for group in item.option_groups:
                group.options.sort(key=_sort_key)
    return categories


async def _get_row(
    session: AsyncSession,
    model: type[CatalogRow],
    store_id: uuid.UUID,
    row_id: uuid.UUID,
    field: str,
) -> CatalogRow:
    row = await session.scalar(select(model).where(model.id == row_id, model.store_id == store_id))
    if row is None:
        label = _LABELS[model][0]
        raise NotFoundError(f"{label} {row_id} not found.", field=field)
    return row


async def _check_parent(
    session: AsyncSession,
    model: type[Category | Item | OptionGroup],
    store_id: uuid.UUID,
    parent_id: uuid.UUID,
    field: str,
) -> None:
    """Raise InvalidInputError unless the referenced row exists in this store."""
    query = select(model.id).where(model.id == parent_id, model.store_id == store_id)
    if await session.scalar(query) is None:
        label, plural = _LABELS[model]
        raise InvalidInputError(
            f"{label} {parent_id} not found in this store.",
            field=field,
            fix=f"send the id of one of this store's {plural}",
        )


async def _list_rows(
    session: AsyncSession, model: type[CatalogRow], store_id: uuid.UUID, *criteria: Any
) -> list[CatalogRow]:
    query = (
        select(model)
        .where(model.store_id == store_id, *criteria)
        .order_by(model.position, model.name, model.id)
    )
    return list(await session.scalars(query))


async def _delete_row(session: AsyncSession, row: Category | Item | OptionGroup | Option) -> None:
    # A Core DELETE lets the database cascade to the children. ``session.delete`` would
    # load the children first, which the lazy="raise" relationships forbid.
    model = type(row)
    await session.execute(delete(model).where(model.id == row.id, model.store_id == row.store_id))


def _apply(
    row: Category | Item | OptionGroup | Option, changes: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Set the changed fields on ``row`` and return the ones whose value differs, as diff()."""
    before = snapshot(row, changes)
    for name, value in changes.items():
        setattr(row, name, value)
    return diff(before, snapshot(row, changes))


async def _audit(
    session: AsyncSession,
    actor: Actor,
    row: Category | Item | OptionGroup | Option,
    verb: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Record a change of ``row``: whole in ``after`` when created, in ``before`` when deleted."""
    kind, fields = _AUDIT_KINDS[type(row)]
    if verb == "created":
        after = snapshot(row, fields)
    elif verb == "deleted":
        before = snapshot(row, fields)
    await record(
        session,
        action=f"catalog.{kind}.{verb}",
        actor=actor,
        store_id=row.store_id,
        target_type=kind,
        target_id=row.id,
        before=before,
        after=after,
    )


async def list_categories(session: AsyncSession, store_id: uuid.UUID) -> list[Category]:
    return await _list_rows(session, Category, store_id)


async def get_category(
    session: AsyncSession, store_id: uuid.UUID, category_id: uuid.UUID
) -> Category:
    return await _get_row(session, Category, store_id, category_id, "category_id")


async def create_category(
    session: AsyncSession, store_id: uuid.UUID, data: CategoryCreate, *, actor: Actor
) -> Category:
    category = Category(store_id=store_id, **data.model_dump())
    session.add(category)
    await session.flush()
    await _audit(session, actor, category, "created")
    note_menu_change(session, store_id)
    logger.info("category.created", store_id=str(store_id), category_id=str(category.id))
    return category


async def update_category(
    session: AsyncSession, category: Category, data: CategoryUpdate, *, actor: Actor
) -> Category:
    before, after = _apply(category, data.model_dump(exclude_unset=True))
    await session.flush()
    await _audit(session, actor, category, "updated", before=before, after=after)
    note_menu_change(session, category.store_id)
    logger.info("category.updated", store_id=str(category.store_id), category_id=str(category.id))
    return category


async def delete_category(session: AsyncSession, category: Category, *, actor: Actor) -> None:
    """Delete a category together with its items, option groups and options."""
    await _audit(session, actor, category, "deleted")
    await _delete_row(session, category)
    note_menu_change(session, category.store_id)
    logger.info("category.deleted", store_id=str(category.store_id), category_id=str(category.id))


async def list_items(
    session: AsyncSession, store_id: uuid.UUID, category_id: uuid.UUID | None = None
) -> list[Item]:
    criteria = [] if category_id is None else [Item.category_id == category_id]
    return await _list_rows(session, Item, store_id, *criteria)


async def get_item(session: AsyncSession, store_id: uuid.UUID, item_id: uuid.UUID) -> Item:
    return await _get_row(session, Item, store_id, item_id, "item_id")


async def create_item(
    session: AsyncSession, store_id: uuid.UUID, data: ItemCreate, *, actor: Actor
) -> Item:
    await _check_parent(session, Category, store_id, data.category_id, "category_id")
    item = Item(store_id=store_id, **data.model_dump())
    session.add(item)
    await session.flush()
    await _audit(session, actor, item, "created")
    note_menu_change(session, store_id)
    logger.info("item.created", store_id=str(store_id), item_id=str(item.id))
    return item


async def update_item(session: AsyncSession, item: Item, data: ItemUpdate, *, actor: Actor) -> Item:
    changes = data.model_dump(exclude_unset=True)
    if "category_id" in changes:
        await _check_parent(session, Category, item.store_id, changes["category_id"], "category_id")
    before, after = _apply(item, changes)
    await session.flush()
    await _audit(session, actor, item, "updated", before=before, after=after)
    note_menu_change(session, item.store_id)
    logger.info("item.updated", store_id=str(item.store_id), item_id=str(item.id))
    return item


async def delete_item(session: AsyncSession, item: Item, *, actor: Actor) -> None:
    """Delete an item together with its option groups and options."""
    await _audit(session, actor, item, "deleted")
    await _delete_row(session, item)
    note_menu_change(session, item.store_id)
    logger.info("item.deleted", store_id=str(item.store_id), item_id=str(item.id))


def _check_choice_range(group: OptionGroup, changed: set[str]) -> None:
    if group.min_choices <= group.max_choices:
        return
    field = "min_choices" if "min_choices" in changed else "max_choices"
    raise InvalidInputError(
        f"min_choices {group.min_choices} is greater than max_choices {group.max_choices}.",
        field=field,
        fix="send a min_choices no greater than max_choices",
    )


async def list_option_groups(
    session: AsyncSession, store_id: uuid.UUID, item_id: uuid.UUID | None = None
) -> list[OptionGroup]:
    criteria = [] if item_id is None else [OptionGroup.item_id == item_id]
    return await _list_rows(session, OptionGroup, store_id, *criteria)


async def get_option_group(
    session: AsyncSession, store_id: uuid.UUID, group_id: uuid.UUID
) -> OptionGroup:
    return await _get_row(session, OptionGroup, store_id, group_id, "group_id")


async def create_option_group(
    session: AsyncSession, store_id: uuid.UUID, data: OptionGroupCreate, *, actor: Actor
) -> OptionGroup:
    group = OptionGroup(store_id=store_id, **data.model_dump())
    _check_choice_range(group, data.model_fields_set)
    await _check_parent(session, Item, store_id, data.item_id, "item_id")
    session.add(group)
    await session.flush()
    await _audit(session, actor, group, "created")
    note_menu_change(session, store_id)
    logger.info("option_group.created", store_id=str(store_id), group_id=str(group.id))
    return group


async def update_option_group(
    session: AsyncSession, group: OptionGroup, data: OptionGroupUpdate, *, actor: Actor
) -> OptionGroup:
    changes = data.model_dump(exclude_unset=True)
    if "item_id" in changes:
        await _check_parent(session, Item, group.store_id, changes["item_id"], "item_id")
    before, after = _apply(group, changes)
    _check_choice_range(group, set(changes))
    await session.flush()
    await _audit(session, actor, group, "updated", before=before, after=after)
    note_menu_change(session, group.store_id)
    logger.info("option_group.updated", store_id=str(group.store_id), group_id=str(group.id))
    return group


async def delete_option_group(session: AsyncSession, group: OptionGroup, *, actor: Actor) -> None:
    """Delete an option group together with its options."""
    await _audit(session, actor, group, "deleted")
    await _delete_row(session, group)
    note_menu_change(session, group.store_id)
    logger.info("option_group.deleted", store_id=str(group.store_id), group_id=str(group.id))


async def list_options(
    session: AsyncSession, store_id: uuid.UUID, group_id: uuid.UUID | None = None
) -> list[Option]:
    criteria = [] if group_id is None else [Option.group_id == group_id]
    return await _list_rows(session, Option, store_id, *criteria)


async def get_option(session: AsyncSession, store_id: uuid.UUID, option_id: uuid.UUID) -> Option:
    return await _get_row(session, Option, store_id, option_id, "option_id")


async def create_option(
    session: AsyncSession, store_id: uuid.UUID, data: OptionCreate, *, actor: Actor
) -> Option:
    await _check_parent(session, OptionGroup, store_id, data.group_id, "group_id")
    option = Option(store_id=store_id, **data.model_dump())
    session.add(option)
    await session.flush()
    await _audit(session, actor, option, "created")
    note_menu_change(session, store_id)
    logger.info("option.created", store_id=str(store_id), option_id=str(option.id))
    return option


async def update_option(
    session: AsyncSession, option: Option, data: OptionUpdate, *, actor: Actor
) -> Option:
    changes = data.model_dump(exclude_unset=True)
    if "group_id" in changes:
        await _check_parent(session, OptionGroup, option.store_id, changes["group_id"], "group_id")
    before, after = _apply(option, changes)
    await session.flush()
    await _audit(session, actor, option, "updated", before=before, after=after)
    note_menu_change(session, option.store_id)
    logger.info("option.updated", store_id=str(option.store_id), option_id=str(option.id))
    return option


async def delete_option(session: AsyncSession, option: Option, *, actor: Actor) -> None:
    await _audit(session, actor, option, "deleted")
    await _delete_row(session, option)
    note_menu_change(session, option.store_id)
    logger.info("option.deleted", store_id=str(option.store_id), option_id=str(option.id))
