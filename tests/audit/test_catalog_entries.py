"""Every catalog write leaves one audit entry, and a rejected write leaves none."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.audit.conftest import Shop, assert_staff_entry, audit_entries, only_entry
from tests.factories import Menu, login, make_user
from zapora.audit.models import AuditEntry
from zapora.auth.models import Role


@dataclass(frozen=True)
class Case:
    """One catalog kind: its API path, bodies and the audit fields they should produce."""

    kind: str
    path: str
    create: dict[str, Any]
    created: dict[str, Any]
    update: dict[str, Any]
    before: dict[str, Any]
    after: dict[str, Any]
    deleted: dict[str, Any]


def _cases(menu: Menu) -> dict[str, Case]:
    category_id, pizza_id, size_id = str(menu.category.id), str(menu.pizza.id), str(menu.size.id)
    item = {"category_id": category_id, "name": "Juice", "description": "", "price": 700}
    item_state = {**item, "is_available": True, "position": 0}
    group = {"item_id": pizza_id, "name": "Crust", "min_choices": 0, "max_choices": 1}
    option = {"group_id": size_id, "name": "Medium", "price": 800}
    option_state = {**option, "is_available": True, "position": 0}
    return {
        "category": Case(
            kind="category",
            path="categories",
            create={"name": "Drinks", "position": 3},
            created={"name": "Drinks", "position": 3},
            # The unchanged position is sent too, and must not appear in the entry.
            update={"name": "Cold drinks", "position": 3},
            before={"name": "Drinks"},
            after={"name": "Cold drinks"},
            deleted={"name": "Cold drinks", "position": 3},
        ),
        "item": Case(
            kind="item",
            path="items",
            create=item,
            created=item_state,
            update={"price": 750, "is_available": False, "name": "Juice"},
            before={"price": 700, "is_available": True},
            after={"price": 750, "is_available": False},
            deleted={**item_state, "price": 750, "is_available": False},
        ),
        "option_group": Case(
            kind="option_group",
            path="option-groups",
            create=group,
            created={**group, "position": 0},
            update={"max_choices": 2, "position": 4},
            before={"max_choices": 1, "position": 0},
            after={"max_choices": 2, "position": 4},
            deleted={**group, "max_choices": 2, "position": 4},
        ),
        "option": Case(
            kind="option",
            path="options",
            create=option,
            created=option_state,
            update={"price": 900},
            before={"price": 800},
            after={"price": 900},
            deleted={**option_state, "price": 900},
        ),
    }


@pytest.mark.parametrize("kind", ["category", "item", "option_group", "option"])
async def test_catalog_writes_recorded(
    client: httpx.AsyncClient,
    shop: Shop,
    session_factory: async_sessionmaker[AsyncSession],
    kind: str,
) -> None:
    case = _cases(shop.menu)[kind]
    url = f"{shop.base}/{case.path}"

    created = await client.post(url, json=case.create, headers=shop.headers)
    assert created.status_code == 201, created.text
    row_id = created.json()["id"]
    entry = await only_entry(session_factory)
    assert_staff_entry(entry, shop, f"catalog.{kind}.created", kind)
    assert entry.target_id == row_id
    assert entry.before is None
    assert entry.after == case.created

    updated = await client.patch(f"{url}/{row_id}", json=case.update, headers=shop.headers)
    assert updated.status_code == 200, updated.text
    entry = await only_entry(session_factory, AuditEntry.action == f"catalog.{kind}.updated")
    assert_staff_entry(entry, shop, f"catalog.{kind}.updated", kind)
    assert entry.target_id == row_id
    assert entry.before == case.before
    assert entry.after == case.after

    deleted = await client.delete(f"{url}/{row_id}", headers=shop.headers)
    assert deleted.status_code == 204
    entry = await only_entry(session_factory, AuditEntry.action == f"catalog.{kind}.deleted")
    assert_staff_entry(entry, shop, f"catalog.{kind}.deleted", kind)
    assert entry.target_id == row_id
    assert entry.before == case.deleted
    assert entry.after is None

    assert len(await audit_entries(session_factory)) == 3


async def test_category_move_of_item_recorded(
    client: httpx.AsyncClient, shop: Shop, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    drinks = await client.post(
        f"{shop.base}/categories", json={"name": "Drinks"}, headers=shop.headers
    )
    drinks_id = drinks.json()["id"]

    moved = await client.patch(
        f"{shop.base}/items/{shop.menu.soda.id}",
        json={"category_id": drinks_id},
        headers=shop.headers,
    )

    assert moved.status_code == 200, moved.text
    entry = await only_entry(session_factory, AuditEntry.action == "catalog.item.updated")
    assert entry.target_id == str(shop.menu.soda.id)
    assert entry.before == {"category_id": str(shop.menu.category.id)}
    assert entry.after == {"category_id": drinks_id}


async def test_unchanged_update_recorded_empty(
    client: httpx.AsyncClient, shop: Shop, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    response = await client.patch(
        f"{shop.base}/items/{shop.menu.soda.id}", json={"price": 600}, headers=shop.headers
    )

    assert response.status_code == 200, response.text
    entry = await only_entry(session_factory)
    assert entry.action == "catalog.item.updated"
    assert entry.before is None
    assert entry.after is None


async def test_staff_role_recorded(
    client: httpx.AsyncClient,
    shop: Shop,
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    clerk = await make_user(session, shop.store, Role.STORE_STAFF)
    await session.commit()

    response = await client.patch(
        f"{shop.base}/items/{shop.menu.soda.id}",
        json={"is_available": False},
        headers=await login(client, clerk),
    )

    assert response.status_code == 200, response.text
    entry = await only_entry(session_factory)
    assert entry.actor_type == "staff"
    assert entry.actor_id == clerk.id
    assert entry.actor_role == Role.STORE_STAFF.value


def _rejected_writes(shop: Shop, other: Shop) -> list[tuple[str, str, dict[str, Any] | None, int]]:
    menu, foreign = shop.menu, other.menu
    return [
        # A parent of another store is unknown here.
        (
            "POST",
            "items",
            {"category_id": str(foreign.category.id), "name": "Juice", "price": 700},
            422,
        ),
        (
            "POST",
            "option-groups",
            {"item_id": str(menu.pizza.id), "name": "X", "min_choices": 3},
            422,
        ),
        ("POST", "options", {"group_id": str(foreign.size.id), "name": "Huge"}, 422),
        # The new minimum exceeds the stored maximum, found after the change is applied.
        ("PATCH", f"option-groups/{menu.size.id}", {"min_choices": 2}, 422),
        ("PATCH", f"items/{menu.soda.id}", {"category_id": str(foreign.category.id)}, 422),
        ("PATCH", f"categories/{foreign.category.id}", {"name": "Mine now"}, 404),
        ("DELETE", f"items/{foreign.pizza.id}", None, 404),
        ("DELETE", f"options/{menu.small.id}-0", None, 422),
    ]


async def test_rejected_writes_leave_no_entry(
    client: httpx.AsyncClient,
    shop: Shop,
    other_shop: Shop,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    for method, path, body, expected in _rejected_writes(shop, other_shop):
        response = await client.request(
            method, f"{shop.base}/{path}", json=body, headers=shop.headers
        )
        assert response.status_code == expected, (method, path, response.text)

    assert await audit_entries(session_factory) == []


_REJECT_DELETE = {
    "sqlite": [
        """
        CREATE TRIGGER IF NOT EXISTS test_reject_locked_category_delete
        BEFORE DELETE ON categories WHEN OLD.name = 'Locked'
        BEGIN SELECT RAISE(ABORT, 'deleting this category is rejected'); END
        """
    ],
    "postgresql": [
        """
        CREATE OR REPLACE FUNCTION test_reject_locked_category_delete() RETURNS trigger AS $$
        BEGIN
            IF OLD.name = 'Locked' THEN
                RAISE EXCEPTION 'deleting this category is rejected';
            END IF;
            RETURN OLD;
        END $$ LANGUAGE plpgsql
        """,
        "DROP TRIGGER IF EXISTS test_reject_locked_category_delete ON categories",
        """
        CREATE TRIGGER test_reject_locked_category_delete BEFORE DELETE ON categories
        FOR EACH ROW EXECUTE FUNCTION test_reject_locked_category_delete()
        """,
    ],
}
_ALLOW_DELETE = {
    "sqlite": ["DROP TRIGGER IF EXISTS test_reject_locked_category_delete"],
    "postgresql": [
        "DROP TRIGGER IF EXISTS test_reject_locked_category_delete ON categories",
        "DROP FUNCTION IF EXISTS test_reject_locked_category_delete()",
    ],
}


async def _execute_all(factory: async_sessionmaker[AsyncSession], statements: list[str]) -> None:
    async with factory() as fresh, fresh.begin():
        for statement in statements:
            await fresh.execute(text(statement))


@pytest.fixture
async def locked_category_delete(
    backend: str, session_factory: async_sessionmaker[AsyncSession]
) -> AsyncIterator[None]:
    """Make the database reject deleting any category named 'Locked', as a failure would."""
    await _execute_all(session_factory, _REJECT_DELETE[backend])
    try:
        yield
    finally:
        await _execute_all(session_factory, _ALLOW_DELETE[backend])


@pytest.mark.usefixtures("locked_category_delete")
async def test_failed_delete_rolls_back_its_entry(
    app: FastAPI,
    client: httpx.AsyncClient,
    shop: Shop,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    created = await client.post(
        f"{shop.base}/categories", json={"name": "Locked"}, headers=shop.headers
    )
    category_url = f"{shop.base}/categories/{created.json()['id']}"
    # This client returns the 500 response instead of raising the server's exception.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)

    # The entry is flushed before the DELETE fails, so only the rollback can remove it.
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as failing:
        deleted = await failing.delete(category_url, headers=shop.headers)

    assert deleted.status_code == 500
    still_there = await client.get(category_url, headers=shop.headers)
    assert still_there.status_code == 200
    actions = [entry.action for entry in await audit_entries(session_factory)]
    assert actions == ["catalog.category.created"]
