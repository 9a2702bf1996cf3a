"""Small builders for test data; each flushes and leaves committing to the caller."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.auth.models import Role, User
from zapora.auth.passwords import hash_password_sync
from zapora.catalog.models import Category, Item, Option, OptionGroup
from zapora.stores.models import Store

PASSWORD = "correct-horse-battery"
# Hashed once: argon2 is slow on purpose, and every test makes users.
PASSWORD_HASH = hash_password_sync(PASSWORD)


async def make_store(session: AsyncSession, **values: object) -> Store:
    suffix = uuid.uuid4().hex[:8]
    fields: dict[str, object] = {
        "slug": f"store-{suffix}",
        "name": f"Store {suffix}",
        "whatsapp_phone_number_id": f"pn-{suffix}",
        "delivery_fee": 500,
        "minimum_order": 1000,
    }
    fields.update(values)
    store = Store(**fields)
    session.add(store)
    await session.flush()
    return store


async def make_user(
    session: AsyncSession, store: Store | None, role: Role = Role.STORE_MANAGER, **values: object
) -> User:
    fields: dict[str, object] = {
        "email": f"user-{uuid.uuid4().hex[:8]}@example.com",
        "password_hash": PASSWORD_HASH,
        "role": role.value,
        "store_id": store.id if store else None,
    }
    fields.update(values)
    user = User(**fields)
    session.add(user)
    await session.flush()
    return user


async def login(client: httpx.AsyncClient, user: User) -> dict[str, str]:
    """Log in through the API and return the Authorization header."""
    response = await client.post(
        "/api/v1/auth/login", json={"email": user.email, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@dataclass
class Menu:
    category: Category
    pizza: Item
    size: OptionGroup
    small: Option
    large: Option
    extras: OptionGroup
    cheese: Option
    soda: Item
    sold_out: Item


async def make_menu(session: AsyncSession, store: Store) -> Menu:
    """Build a pizza with a required size and optional extras, a soda and a sold-out item."""
    category = Category(store_id=store.id, name="Pizzas", position=1)
    session.add(category)
    await session.flush()
    pizza = Item(
        store_id=store.id, category_id=category.id, name="Margherita", price=3000, position=1
    )
    soda = Item(store_id=store.id, category_id=category.id, name="Soda", price=600, position=2)
    sold_out = Item(
        store_id=store.id,
        category_id=category.id,
        name="Calzone",
        price=3500,
        position=3,
        is_available=False,
    )
    session.add_all([pizza, soda, sold_out])
    await session.flush()
    size = OptionGroup(
        store_id=store.id, item_id=pizza.id, name="Size", min_choices=1, max_choices=1, position=1
    )
    extras = OptionGroup(
        store_id=store.id, item_id=pizza.id, name="Extras", min_choices=0, max_choices=2, position=2
    )
    session.add_all([size, extras])
    await session.flush()
    small = Option(store_id=store.id, group_id=size.id, name="Small", price=0, position=1)
    large = Option(store_id=store.id, group_id=size.id, name="Large", price=1500, position=2)
    cheese = Option(store_id=store.id, group_id=extras.id, name="Cheese", price=400, position=1)
    session.add_all([small, large, cheese])
    await session.flush()
    return Menu(category, pizza, size, small, large, extras, cheese, soda, sold_out)
