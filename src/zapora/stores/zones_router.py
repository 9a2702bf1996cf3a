"""Staff routes for a store's delivery zones and the delivery quote for a location."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status

from zapora.audit.service import Actor
from zapora.auth.models import User
from zapora.auth.permissions import Permission
from zapora.dependencies import SessionDep, load_store_for, require
from zapora.errors import PROBLEM_CONTENT_TYPE
from zapora.stores import zones_service
from zapora.stores.terms_cache import PublishTermsChanges
from zapora.stores.zones_schemas import QuoteOut, ZoneCreate, ZoneOut, ZoneUpdate

# Changes are announced after the commit, so the next order in every process uses them.
router = APIRouter(
    prefix="/stores/{store_id}/zones", tags=["delivery zones"], dependencies=[PublishTermsChanges]
)

ReadUser = Annotated[User, Depends(require(Permission.STORES_READ))]
WriteUser = Annotated[User, Depends(require(Permission.STORES_WRITE))]

ZONE_RULE = (
    "A point on a zone's boundary counts as inside it. Where several active zones contain "
    "the point, the highest `priority` wins, then the lowest `fee`, then the zone created "
    "first. A store without active zones charges its flat `delivery_fee` everywhere."
)


def _problems(descriptions: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    return {
        code: {"description": description, "content": {PROBLEM_CONTENT_TYPE: {}}}
        for code, description in descriptions.items()
    }


_NOT_FOUND = "The store or zone does not exist or belongs to another store."
_INVALID = (
    "Invalid zone: a GeoJSON error (unclosed or short ring, coordinate out of range, "
    "self-intersection), or a shape field that does not match the kind."
)
_NO_LOCATION = "A radius zone needs the store's latitude and longitude, which are not set."


@router.get("", response_model=list[ZoneOut], responses=_problems({404: _NOT_FOUND}))
async def list_zones(store_id: uuid.UUID, session: SessionDep, user: ReadUser) -> list[ZoneOut]:
    """List the store's delivery zones, highest priority first."""
    store = await load_store_for(session, user, store_id)
    return [ZoneOut.from_model(zone) for zone in await zones_service.list_zones(session, store.id)]


@router.post(
    "",
    response_model=ZoneOut,
    status_code=status.HTTP_201_CREATED,
    responses=_problems({404: _NOT_FOUND, 409: _NO_LOCATION, 422: _INVALID}),
    description=ZONE_RULE,
)
async def create_zone(
    store_id: uuid.UUID, body: ZoneCreate, session: SessionDep, user: WriteUser
) -> ZoneOut:
    """Add a delivery zone: a GeoJSON polygon or a ring around the store."""
    store = await load_store_for(session, user, store_id)
    zone = await zones_service.create_zone(session, store, body, actor=Actor.staff(user))
    return ZoneOut.from_model(zone)


@router.get(
    "/quote",
    response_model=QuoteOut,
    responses=_problems(
        {404: _NOT_FOUND, 422: "The location is outside every zone (outside_delivery_area)."}
    ),
    description=ZONE_RULE,
)
async def quote_delivery(
    store_id: uuid.UUID,
    session: SessionDep,
    user: ReadUser,
    latitude: Annotated[float, Query(ge=-90, le=90, allow_inf_nan=False)],
    longitude: Annotated[float, Query(ge=-180, le=180, allow_inf_nan=False)],
) -> QuoteOut:
    """Return the zone serving a location with its fee, minimum order and estimate."""
    store = await load_store_for(session, user, store_id)
    quote = await zones_service.quote(session, store, latitude, longitude)
    return QuoteOut(
        zone_id=quote.zone.id if quote.zone else None,
        zone_name=quote.zone.name if quote.zone else None,
        currency=store.currency,
        fee=quote.fee,
        minimum_order=quote.minimum_order,
        estimate_minutes=quote.estimate_minutes,
    )


@router.get("/{zone_id}", response_model=ZoneOut, responses=_problems({404: _NOT_FOUND}))
async def get_zone(
    store_id: uuid.UUID, zone_id: uuid.UUID, session: SessionDep, user: ReadUser
) -> ZoneOut:
    """Return one delivery zone."""
    store = await load_store_for(session, user, store_id)
    return ZoneOut.from_model(await zones_service.get_zone(session, store.id, zone_id))


@router.patch(
    "/{zone_id}",
    response_model=ZoneOut,
    responses=_problems({404: _NOT_FOUND, 409: _NO_LOCATION, 422: _INVALID}),
    description=ZONE_RULE,
)
async def update_zone(
    store_id: uuid.UUID,
    zone_id: uuid.UUID,
    body: ZoneUpdate,
    session: SessionDep,
    user: WriteUser,
) -> ZoneOut:
    """Change the fields sent of a delivery zone."""
    store = await load_store_for(session, user, store_id)
    zone = await zones_service.get_zone(session, store.id, zone_id)
    zone = await zones_service.update_zone(session, store, zone, body, actor=Actor.staff(user))
    return ZoneOut.from_model(zone)


@router.delete(
    "/{zone_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_problems({404: _NOT_FOUND}),
)
async def delete_zone(
    store_id: uuid.UUID, zone_id: uuid.UUID, session: SessionDep, user: WriteUser
) -> Response:
    """Delete a delivery zone. Orders placed in it keep its name and values."""
    store = await load_store_for(session, user, store_id)
    zone = await zones_service.get_zone(session, store.id, zone_id)
    await zones_service.delete_zone(session, store, zone, actor=Actor.staff(user))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
