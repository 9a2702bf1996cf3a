"""Staff routes for a store's weekly opening hours, dated closures and opening status."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Body, Depends, Response, status

from zapora.audit.service import Actor
from zapora.auth.models import User
from zapora.auth.permissions import Permission
from zapora.db import utcnow
from zapora.dependencies import SessionDep, load_store_for, require
from zapora.stores import hours_service
from zapora.stores.hours_schemas import (
    MAX_RANGES,
    ClosureCreate,
    ClosureOut,
    HoursRange,
    StatusOut,
)
from zapora.stores.terms_cache import PublishTermsChanges

# Changes are announced after the commit, so the next order in every process uses them.
router = APIRouter(
    prefix="/stores/{store_id}", tags=["opening hours"], dependencies=[PublishTermsChanges]
)

ReadUser = Annotated[User, Depends(require(Permission.STORES_READ))]
WriteUser = Annotated[User, Depends(require(Permission.STORES_WRITE))]
HoursBody = Annotated[list[HoursRange], Body(max_length=MAX_RANGES)]


@router.get("/hours", response_model=list[HoursRange])
async def get_hours(store_id: uuid.UUID, session: SessionDep, user: ReadUser) -> list[HoursRange]:
    """List the store's weekly opening ranges in its local time."""
    store = await load_store_for(session, user, store_id)
    return await hours_service.get_hours(session, store)


@router.put("/hours", response_model=list[HoursRange])
async def replace_hours(
    store_id: uuid.UUID, body: HoursBody, session: SessionDep, user: WriteUser
) -> list[HoursRange]:
    """Replace all weekly opening ranges. With none, the is_open switch alone decides."""
    store = await load_store_for(session, user, store_id)
    return await hours_service.replace_hours(session, store, body, actor=Actor.staff(user))


@router.get("/closures", response_model=list[ClosureOut])
async def list_closures(
    store_id: uuid.UUID, session: SessionDep, user: ReadUser
) -> list[ClosureOut]:
    """List the store's dated closures, oldest first."""
    store = await load_store_for(session, user, store_id)
    closures = await hours_service.list_closures(session, store)
    return [ClosureOut(id=row.id, day=row.day, reason=row.reason) for row in closures]


@router.post("/closures", response_model=ClosureOut, status_code=status.HTTP_201_CREATED)
async def add_closure(
    store_id: uuid.UUID, body: ClosureCreate, session: SessionDep, user: WriteUser
) -> ClosureOut:
    """Close the store on a local date: no weekly range starting that day opens."""
    store = await load_store_for(session, user, store_id)
    row = await hours_service.add_closure(session, store, body, actor=Actor.staff(user))
    return ClosureOut(id=row.id, day=row.day, reason=row.reason)


@router.delete("/closures/{closure_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_closure(
    store_id: uuid.UUID, closure_id: uuid.UUID, session: SessionDep, user: WriteUser
) -> Response:
    """Delete a dated closure."""
    store = await load_store_for(session, user, store_id)
    await hours_service.delete_closure(session, store, closure_id, actor=Actor.staff(user))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _local(instant: datetime | None, zone: ZoneInfo) -> str | None:
    return instant.astimezone(zone).isoformat() if instant is not None else None


@router.get("/status", response_model=StatusOut)
async def get_status(store_id: uuid.UUID, session: SessionDep, user: ReadUser) -> StatusOut:
    """Report whether the store takes orders now, when it closes and when it opens next."""
    store = await load_store_for(session, user, store_id)
    opening = await hours_service.store_status(session, store, utcnow())
    zone = ZoneInfo(store.time_zone)
    return StatusOut(
        open=opening.open,
        is_open_switch=store.is_open,
        time_zone=store.time_zone,
        closes_at=opening.closes_at,
        closes_at_local=_local(opening.closes_at, zone),
        last_order_at=opening.last_order_at,
        last_order_at_local=_local(opening.last_order_at, zone),
        opens_next_at=opening.opens_next_at,
        opens_next_at_local=_local(opening.opens_next_at, zone),
    )
