"""Stores: listing for staff, creation, settings changes and lookup by slug."""

from __future__ import annotations

import re
import uuid
import zoneinfo
from functools import lru_cache
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.audit.service import Actor, diff, record, snapshot
from zapora.auth.models import Role, User
from zapora.catalog.changes import note_menu_change
from zapora.errors import ConflictError, InvalidInputError, NotFoundError
from zapora.orders.notifications import TEMPLATE_PARAMETERS
from zapora.stores.models import Store
from zapora.stores.schemas import SLUG_PATTERN, StoreCreate, StoreUpdate
from zapora.stores.zones_service import has_radius_zones, lock_store

logger = structlog.get_logger(__name__)


@lru_cache(maxsize=1)
def _time_zone_names() -> frozenset[str]:
    # "localtime" is a host symlink in some zoneinfo folders, not an IANA name.
    return frozenset(zoneinfo.available_timezones() - {"localtime"})


def validate_time_zone(name: str) -> None:
    """Raise InvalidInputError unless ``name`` is an IANA time zone known to this host."""
    if name not in _time_zone_names():
        raise InvalidInputError(
            f"Invalid time zone '{name}'.",
            field="time_zone",
            fix="use an IANA time zone name such as America/Sao_Paulo",
        )


async def list_stores_for(session: AsyncSession, user: User) -> list[Store]:
    """Return every store for a platform admin and the caller's own store for anyone else."""
    query = select(Store).order_by(Store.name, Store.id)
    if user.role != Role.PLATFORM_ADMIN.value:
        query = query.where(Store.id == user.store_id)
    return list(await session.scalars(query))


async def get_store_by_slug(session: AsyncSession, slug: str) -> Store:
    """Return the store with this slug or raise NotFoundError."""
    # Rejecting malformed slugs before the query also keeps bytes such as NUL, which
    # PostgreSQL rejects in text, away from the database.
    store = None
    if re.fullmatch(SLUG_PATTERN, slug) and len(slug) <= 64:
        store = await session.scalar(select(Store).where(Store.slug == slug))
    if store is None:
        raise NotFoundError(f"Store '{slug}' not found.", field="slug", fix="check the store link")
    return store


async def _check_slug_free(session: AsyncSession, slug: str) -> None:
    if await session.scalar(select(Store.id).where(Store.slug == slug)) is not None:
        raise ConflictError(
            f"A store with slug '{slug}' exists.", field="slug", fix="choose another slug"
        )


async def _check_phone_number_id_free(
    session: AsyncSession, phone_number_id: str, store_id: uuid.UUID | None
) -> None:
    query = select(Store.id).where(Store.whatsapp_phone_number_id == phone_number_id)
    if store_id is not None:
        query = query.where(Store.id != store_id)
    if await session.scalar(query) is not None:
        raise ConflictError(
            f"Another store uses the WhatsApp phone number id '{phone_number_id}'.",
            field="whatsapp_phone_number_id",
            fix="use the phone number id of this store's own WhatsApp number",
        )


async def _flush_unique(session: AsyncSession) -> None:
    """Flush and report a unique violation from a concurrent request as a 409."""
    try:
        await session.flush()
    except IntegrityError as exc:
        raise ConflictError(
            "Another request took this slug or WhatsApp phone number id at the same time.",
            fix="retry the request to see which value is taken",
        ) from exc


async def create_store(session: AsyncSession, data: StoreCreate, *, actor: Actor) -> Store:
    """Insert a store after checking its time zone and that its slug and number are free."""
    validate_time_zone(data.time_zone)
    await _check_slug_free(session, data.slug)
    if data.whatsapp_phone_number_id is not None:
        await _check_phone_number_id_free(session, data.whatsapp_phone_number_id, None)
    store = Store(
        slug=data.slug,
        name=data.name,
        time_zone=data.time_zone,
        currency=data.currency,
        language=data.language.value,
        whatsapp_phone_number_id=data.whatsapp_phone_number_id,
        whatsapp_access_token=data.whatsapp_access_token,
        delivery_fee=data.delivery_fee,
        minimum_order=data.minimum_order,
        is_open=data.is_open,
    )
    session.add(store)
    await _flush_unique(session)
    # record() stores the access token as a marker, never its value.
    await record(
        session,
        action="store.created",
        actor=actor,
        store_id=store.id,
        target_type="store",
        target_id=store.id,
        after=snapshot(store, StoreCreate.model_fields),
    )
    logger.info("store.created", store_id=str(store.id), slug=store.slug)
    return store


def _check_template_parameters(names: list[str]) -> None:
    unknown = [name for name in names if name not in TEMPLATE_PARAMETERS]
    if unknown:
        raise InvalidInputError(
            f"Unknown template parameters: {', '.join(unknown)}.",
            field="update_template_parameters",
            fix=f"use names from: {', '.join(sorted(TEMPLATE_PARAMETERS))}",
            extra={"allowed": sorted(TEMPLATE_PARAMETERS)},
        )


def _half_location_error(changes: dict[str, Any], missing: str) -> InvalidInputError:
    other = "longitude" if missing == "latitude" else "latitude"
    if missing in changes and changes[missing] is None and other not in changes:
        return InvalidInputError(
            f"Latitude and longitude are cleared together, but only {missing} was sent as null.",
            field=other,
            fix="send null for both latitude and longitude to clear the store's location",
        )
    return InvalidInputError(
        f"The store's location needs both latitude and longitude; {missing} is missing.",
        field=missing,
        fix="send latitude and longitude together, or null for both to clear the location",
    )


async def _check_location(session: AsyncSession, store: Store, changes: dict[str, Any]) -> None:
    """Check that latitude and longitude are set or cleared together, and kept when needed."""
    if "latitude" not in changes and "longitude" not in changes:
        return
    # Radius zone changes take the same lock, so the check below reads their committed state.
    await lock_store(session, store)
    latitude = changes.get("latitude", store.latitude)
    longitude = changes.get("longitude", store.longitude)
    if (latitude is None) != (longitude is None):
        raise _half_location_error(changes, "latitude" if latitude is None else "longitude")
    if (
        latitude is None
        and store.latitude is not None
        and await has_radius_zones(session, store.id)
    ):
        raise ConflictError(
            "Active radius delivery zones are measured from the store's location.",
            field="latitude",
            fix="deactivate or delete the radius zones first, or send a new location",
        )


async def update_store(
    session: AsyncSession, store: Store, data: StoreUpdate, *, actor: Actor
) -> Store:
    """Validate the fields sent in ``data`` and apply them to ``store``."""
    changes = data.model_dump(exclude_unset=True)
    if "time_zone" in changes:
        validate_time_zone(changes["time_zone"])
    phone_number_id = changes.get("whatsapp_phone_number_id")
    if phone_number_id is not None:
        await _check_phone_number_id_free(session, phone_number_id, store.id)
    await _check_location(session, store, changes)
    if "update_template_parameters" in changes:
        _check_template_parameters(changes["update_template_parameters"])
    for name in ("language", "typed_address_policy"):
        if name in changes:
            changes[name] = changes[name].value

    before = snapshot(store, changes)
    for name, value in changes.items():
        setattr(store, name, value)
    await _flush_unique(session)

    before, after = diff(before, snapshot(store, changes))
    # record() stores a changed access token as a marker, never its value.
    await record(
        session,
        action="store.updated",
        actor=actor,
        store_id=store.id,
        target_type="store",
        target_id=store.id,
        before=before,
        after=after,
    )
    # The public menu shows the store's name, currency, fees and whether it is open.
    note_menu_change(session, store.id)
    # Field names only: the access token must never reach the logs.
    logger.info("store.updated", store_id=str(store.id), fields=sorted(changes))
    return store
