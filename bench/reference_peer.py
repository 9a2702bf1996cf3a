"""The reference peer: staff order placement written the plain way, for comparison.

One FastAPI route with the SQLAlchemy ORM unit of work and no cache. It loads the user from
the token and the store, locks the store's order counter and loads the items and options.
Then it adds the order, its lines, its first event and the idempotency key, and commits. It
writes to Zapora's own tables, so both do the same work in the same database, but it has no
rate limits, metrics, audit log or logging.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

import jwt
from fastapi import Depends, FastAPI, Header, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

# Every table, so that the unit of work can order inserts by their foreign keys.
import zapora.models  # noqa: F401
from zapora.auth.models import User
from zapora.catalog.models import Item, Option
from zapora.orders.models import IdempotencyKey, Order, OrderCounter, OrderEvent, OrderLine
from zapora.stores.models import Store

engine = create_async_engine(os.environ["ZAPORA_DATABASE_URL"])
sessions = async_sessionmaker(engine, expire_on_commit=False)
SECRET_KEY = os.environ["ZAPORA_SECRET_KEY"]
app = FastAPI()


class LineIn(BaseModel):
    item_id: uuid.UUID
    quantity: int = Field(ge=1, le=100)
    option_ids: list[uuid.UUID] = Field(default_factory=list)


class OrderIn(BaseModel):
    lines: list[LineIn] = Field(min_length=1)
    fulfilment: str
    payment_method: str
    address_text: str | None = None
    customer_name: str | None = None
    customer_phone: str | None = None


class OrderOut(BaseModel):
    id: uuid.UUID
    number: int
    status: str
    currency: str
    subtotal: int
    delivery_fee: int
    total: int


async def get_session() -> AsyncIterator[AsyncSession]:
    async with sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def current_user(session: SessionDep, authorization: Annotated[str, Header()]) -> User:
    """Return the user named by the bearer token."""
    try:
        claims = jwt.decode(
            authorization.removeprefix("Bearer "),
            SECRET_KEY,
            algorithms=["HS256"],
            audience="zapora-api",
            issuer="zapora",
        )
    except jwt.PyJWTError:
        raise HTTPException(401, "invalid token") from None
    user = await session.get(User, uuid.UUID(claims["sub"]))
    if user is None or not user.is_active:
        raise HTTPException(401, "unknown user")
    return user


@app.post("/stores/{store_id}/orders", status_code=201)
async def create_order(
    store_id: uuid.UUID,
    body: OrderIn,
    session: SessionDep,
    user: Annotated[User, Depends(current_user)],
    idempotency_key: Annotated[str, Header()],
) -> OrderOut:
    """Place an order priced from the menu."""
    store = await session.get(Store, store_id)
    if store is None or user.store_id != store.id:
        raise HTTPException(404, "store not found")
    counter = await session.get(OrderCounter, store_id, with_for_update=True)
    if counter is None:
        counter = OrderCounter(store_id=store_id, last_number=0)
        session.add(counter)
    replayed = await session.scalar(
        select(IdempotencyKey.order_id).where(
            IdempotencyKey.store_id == store_id, IdempotencyKey.key == idempotency_key
        )
    )
    if replayed is not None:
        raise HTTPException(409, "idempotency key already used")

    item_ids = {line.item_id for line in body.lines}
    option_ids = {option_id for line in body.lines for option_id in line.option_ids}
    items = {
        item.id: item
        for item in await session.scalars(
            select(Item).where(Item.store_id == store_id, Item.id.in_(item_ids))
        )
    }
    options = {
        option.id: option
        for option in await session.scalars(select(Option).where(Option.id.in_(option_ids)))
    }

    counter.last_number += 1
    order = Order(
        id=uuid.uuid4(),
        store_id=store.id,
        number=counter.last_number,
        source="staff",
        status="placed",
        fulfilment=body.fulfilment,
        payment_method=body.payment_method,
        address_text=body.address_text,
        customer_name=body.customer_name,
        customer_phone=body.customer_phone,
        currency=store.currency,
        subtotal=0,
        delivery_fee=store.delivery_fee,
        total=0,
    )
    session.add(order)
    for position, line in enumerate(body.lines):
        item = items[line.item_id]
        chosen = [options[option_id] for option_id in line.option_ids]
        unit_price = item.price + sum(option.price for option in chosen)
        order.subtotal += unit_price * line.quantity
        session.add(
            OrderLine(
                order_id=order.id,
                store_id=store.id,
                position=position,
                item_id=item.id,
                name=item.name,
                unit_price=unit_price,
                quantity=line.quantity,
                line_total=unit_price * line.quantity,
                options=[{"name": option.name, "price": option.price} for option in chosen],
            )
        )
    order.total = order.subtotal + order.delivery_fee

    session.add(
        OrderEvent(
            order_id=order.id,
            store_id=store.id,
            to_status="placed",
            actor_type="staff",
            actor_id=user.id,
        )
    )
    # The key has no relationship to the order, so the order goes first.
    await session.flush()
    session.add(
        IdempotencyKey(store_id=store.id, key=idempotency_key, request_hash="-", order_id=order.id)
    )
    await session.commit()
    return OrderOut.model_validate(order, from_attributes=True)
