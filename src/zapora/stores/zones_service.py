"""Delivery zones: staff changes, audited, and the lookup of the zone serving a location."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.audit.service import Actor, diff, record, snapshot
from zapora.errors import ConflictError, InvalidInputError, NotFoundError
from zapora.stores.models import DeliveryZone, Store, ZoneKind
from zapora.stores.terms_changes import note_terms_change
from zapora.stores.zones import choose_zone, outside_error, validate_geometry
from zapora.stores.zones_schemas import ZoneCreate, ZoneUpdate

logger = structlog.get_logger(__name__)

AUDIT_FIELDS = (
    "name",
    "kind",
    "geometry",
    "radius_meters",
    "fee",
    "minimum_order",
    "estimate_minutes",
    "priority",
    "is_active",
)


@dataclass(frozen=True)
class Quote:
    """The delivery terms at a location. ``zone`` is None for a store without zones."""

    zone: DeliveryZone | None
    fee: int
    minimum_order: int
    estimate_minutes: int | None


async def list_zones(session: AsyncSession, store_id: uuid.UUID) -> list[DeliveryZone]:
    """Return the store's zones, highest priority first, then oldest first."""
    query = (
        select(DeliveryZone)
        .where(DeliveryZone.store_id == store_id)
        .order_by(DeliveryZone.priority.desc(), DeliveryZone.created_at, DeliveryZone.id)
    )
    return list(await session.scalars(query))


async def active_zones(session: AsyncSession, store_id: uuid.UUID) -> list[DeliveryZone]:
    """Return the zones that take part in the zone choice."""
    return [zone for zone in await list_zones(session, store_id) if zone.is_active]


async def get_zone(session: AsyncSession, store_id: uuid.UUID, zone_id: uuid.UUID) -> DeliveryZone:
    """Return the store's zone. A zone of another store raises NotFoundError (404)."""
    zone = await session.get(DeliveryZone, zone_id)
    if zone is None or zone.store_id != store_id:
        raise NotFoundError(f"Delivery zone {zone_id} not found.", field="zone_id")
    return zone


async def lock_store(session: AsyncSession, store: Store) -> None:
    """Lock the store's row until the transaction ends and reload its columns.

    Changes to the store's location and to its radius zones both take this lock before
    they check each other, so they never both pass and leave an active radius zone on a
    store without a location. SQLite has no FOR UPDATE, and SQLAlchemy leaves it out there,
    where BEGIN IMMEDIATE already runs writing transactions one at a time.
    """
    await session.execute(
        select(Store)
        .where(Store.id == store.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _check_shape(store: Store, values: dict[str, Any]) -> None:
    """Check that the kind has its own shape field and not the other one."""
    if values["kind"] == ZoneKind.POLYGON.value:
        if values["geometry"] is None:
            raise InvalidInputError(
                "A polygon zone needs a geometry.",
                field="geometry",
                fix="send a GeoJSON Polygon or MultiPolygon in geometry",
            )
        if values["radius_meters"] is not None:
            raise InvalidInputError(
                "A polygon zone has no radius.",
                field="radius_meters",
                fix="leave radius_meters out or null, or use kind 'radius'",
            )
        values["geometry"] = validate_geometry(values["geometry"])
        return
    if values["radius_meters"] is None:
        raise InvalidInputError(
            "A radius zone needs radius_meters.",
            field="radius_meters",
            fix="send the ring's radius in metres",
        )
    if values["geometry"] is not None:
        raise InvalidInputError(
            "A radius zone has no geometry.",
            field="geometry",
            fix="leave geometry out or null, or use kind 'polygon'",
        )
    if store.latitude is None or store.longitude is None:
        raise ConflictError(
            "A radius zone is measured from the store's location, which is not set.",
            field="radius_meters",
            fix="set the store's latitude and longitude with PATCH /api/v1/stores/{store_id} "
            "first, or draw a polygon zone",
        )


async def create_zone(
    session: AsyncSession, store: Store, data: ZoneCreate, *, actor: Actor
) -> DeliveryZone:
    """Validate and add a zone to the store."""
    values = data.model_dump()
    values["kind"] = data.kind.value
    if values["kind"] == ZoneKind.RADIUS.value:
        await lock_store(session, store)
    _check_shape(store, values)
    zone = DeliveryZone(store_id=store.id, **values)
    session.add(zone)
    await session.flush()
    note_terms_change(session, store.id)
    await record(
        session,
        action="delivery_zone.created",
        actor=actor,
        store_id=store.id,
        target_type="delivery_zone",
        target_id=zone.id,
        after=snapshot(zone, AUDIT_FIELDS),
    )
    logger.info("delivery_zone.created", store_id=str(store.id), zone_id=str(zone.id))
    return zone


async def update_zone(
    session: AsyncSession, store: Store, zone: DeliveryZone, data: ZoneUpdate, *, actor: Actor
) -> DeliveryZone:
    """Apply the fields sent to the zone and check the whole zone again."""
    changes = data.model_dump(exclude_unset=True)
    if "kind" in changes:
        changes["kind"] = changes["kind"].value
    values = {**snapshot(zone, AUDIT_FIELDS), **changes}
    if values["kind"] == ZoneKind.RADIUS.value:
        await lock_store(session, store)
    _check_shape(store, values)
    before = snapshot(zone, AUDIT_FIELDS)
    for name in AUDIT_FIELDS:
        setattr(zone, name, values[name])
    await session.flush()
    note_terms_change(session, store.id)
    before, after = diff(before, snapshot(zone, AUDIT_FIELDS))
    await record(
        session,
        action="delivery_zone.updated",
        actor=actor,
        store_id=store.id,
        target_type="delivery_zone",
        target_id=zone.id,
        before=before,
        after=after,
    )
    logger.info(
        "delivery_zone.updated", store_id=str(store.id), zone_id=str(zone.id), fields=sorted(after)
    )
    return zone


async def delete_zone(
    session: AsyncSession, store: Store, zone: DeliveryZone, *, actor: Actor
) -> None:
    """Delete the zone. Orders placed in it keep the zone's name and values."""
    before = snapshot(zone, AUDIT_FIELDS)
    await session.delete(zone)
    await session.flush()
    note_terms_change(session, store.id)
    await record(
        session,
        action="delivery_zone.deleted",
        actor=actor,
        store_id=store.id,
        target_type="delivery_zone",
        target_id=zone.id,
        before=before,
    )
    logger.info("delivery_zone.deleted", store_id=str(store.id), zone_id=str(zone.id))


_ANY_ACTIVE_ZONE = (
    select(DeliveryZone.id)
    .where(DeliveryZone.store_id == bindparam("store_id"), DeliveryZone.is_active.is_(True))
    .limit(1)
)


async def has_active_zones(session: AsyncSession, store_id: uuid.UUID) -> bool:
    """Return whether the store prices delivery by zone, reading one id and no zone."""
    return await session.scalar(_ANY_ACTIVE_ZONE, {"store_id": store_id}) is not None


async def has_radius_zones(session: AsyncSession, store_id: uuid.UUID) -> bool:
    """Return whether the store has an active zone measured from its location."""
    query = select(DeliveryZone.id).where(
        DeliveryZone.store_id == store_id,
        DeliveryZone.kind == ZoneKind.RADIUS.value,
        DeliveryZone.is_active.is_(True),
    )
    return await session.scalar(query.limit(1)) is not None


async def quote(session: AsyncSession, store: Store, latitude: float, longitude: float) -> Quote:
    """Return the delivery terms at a location.

    A store without active zones delivers anywhere for its flat ``delivery_fee`` and
    ``minimum_order``. Otherwise the zone chosen by ``zones.choose_zone`` sets the terms,
    and a location in no zone raises OutsideDeliveryAreaError (422).
    """
    zones = await active_zones(session, store.id)
    if not zones:
        return Quote(None, store.delivery_fee, store.minimum_order, None)
    zone = choose_zone(zones, store, latitude, longitude)
    if zone is None:
        raise outside_error(latitude, longitude)
    return Quote(zone, zone.fee, zone.minimum_order, zone.estimate_minutes)
