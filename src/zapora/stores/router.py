"""Staff routes for stores: list, read, create (platform admins) and change settings."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status

from zapora.audit.service import Actor
from zapora.auth.models import User
from zapora.auth.permissions import Permission, has_permission
from zapora.dependencies import SessionDep, load_store_for, require
from zapora.errors import PermissionDeniedError
from zapora.stores import service
from zapora.stores.schemas import StoreCreate, StoreOut, StoreUpdate

router = APIRouter(prefix="/stores", tags=["stores"])


@router.get("", response_model=list[StoreOut])
async def list_stores(
    session: SessionDep,
    user: Annotated[User, Depends(require(Permission.STORES_READ))],
) -> list[StoreOut]:
    """List the stores the caller may see: all for a platform admin, else their own."""
    stores = await service.list_stores_for(session, user)
    return [StoreOut.from_model(store) for store in stores]


@router.post("", response_model=StoreOut, status_code=status.HTTP_201_CREATED)
async def create_store(
    body: StoreCreate,
    session: SessionDep,
    user: Annotated[User, Depends(require(Permission.STORES_CREATE))],
) -> StoreOut:
    """Create a store (platform admins only)."""
    store = await service.create_store(session, body, actor=Actor.staff(user))
    return StoreOut.from_model(store)


@router.get("/{store_id}", response_model=StoreOut)
async def get_store(
    store_id: uuid.UUID,
    session: SessionDep,
    user: Annotated[User, Depends(require(Permission.STORES_READ))],
) -> StoreOut:
    """Return one of the caller's stores."""
    store = await load_store_for(session, user, store_id)
    return StoreOut.from_model(store)


@router.patch("/{store_id}", response_model=StoreOut)
async def update_store(
    store_id: uuid.UUID,
    body: StoreUpdate,
    session: SessionDep,
    user: Annotated[User, Depends(require(Permission.STORES_WRITE))],
) -> StoreOut:
    """Change the settings sent of a store."""
    store = await load_store_for(session, user, store_id)
    # The phone number id routes a WhatsApp number's customers to a store, so only the
    # platform may assign it: a store claiming another's number would receive its messages.
    if "whatsapp_phone_number_id" in body.model_fields_set and not has_permission(
        user.role, Permission.STORES_CREATE
    ):
        raise PermissionDeniedError(
            "Only a platform admin can change whatsapp_phone_number_id.",
            field="whatsapp_phone_number_id",
            fix="leave the field out, or ask a platform admin to set it",
        )
    store = await service.update_store(session, store, body, actor=Actor.staff(user))
    return StoreOut.from_model(store)
