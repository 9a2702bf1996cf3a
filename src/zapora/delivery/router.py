"""Dispatch API for store staff: couriers, manual assignment and proof photos."""

from __future__ import annotations

import mimetypes
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse

from zapora.audit.service import Actor
from zapora.auth.models import User
from zapora.auth.permissions import Permission
from zapora.db import utcnow
from zapora.delivery import couriers, deliveries
from zapora.delivery.assignment import assign_by_staff
from zapora.delivery.dependencies import StorageDep
from zapora.delivery.schemas import (
    AssignmentOut,
    CourierAssignment,
    CourierList,
    CourierOut,
    SignedUrlOut,
)
from zapora.dependencies import SessionDep, load_store_for, require
from zapora.errors import PROBLEM_CONTENT_TYPE, NotFoundError
from zapora.storage import LocalStorage

router = APIRouter(prefix="/stores/{store_id}", tags=["dispatch"])
files_router = APIRouter(tags=["files"])

Dispatcher = Annotated[User, Depends(require(Permission.DISPATCH_MANAGE))]
_NOT_FOUND = "The store or order does not exist or belongs to another store."


def _problems(descriptions: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    return {
        code: {"description": description, "content": {PROBLEM_CONTENT_TYPE: {}}}
        for code, description in descriptions.items()
    }


def _courier_out(view: couriers.CourierView) -> CourierOut:
    state = view.state
    position_at = state.position_at if state else None
    age = None
    if position_at is not None:
        age = max(0, int((utcnow() - position_at).total_seconds()))
    return CourierOut(
        id=view.user.id,
        full_name=view.user.full_name,
        email=view.user.email,
        is_active=view.user.is_active,
        on_shift=bool(state and state.on_shift),
        shift_started_at=state.shift_started_at if state else None,
        latitude=state.latitude if state else None,
        longitude=state.longitude if state else None,
        position_at=position_at,
        position_age_seconds=age,
        load=view.load,
    )


@router.get("/couriers", response_model=CourierList, responses=_problems({404: _NOT_FOUND}))
async def list_couriers(store_id: uuid.UUID, session: SessionDep, user: Dispatcher) -> CourierList:
    """List the store's couriers with shift, last position, its age and current load."""
    store = await load_store_for(session, user, store_id)
    views = await couriers.list_couriers(session, store.id)
    return CourierList(items=[_courier_out(view) for view in views])


@router.post(
    "/orders/{order_id}/courier",
    response_model=AssignmentOut,
    responses=_problems(
        {
            404: _NOT_FOUND,
            409: "The order is for pickup, or not preparing or ready.",
            422: "The courier_id is not an active courier of this store.",
        }
    ),
)
async def assign_courier(
    store_id: uuid.UUID,
    order_id: uuid.UUID,
    body: CourierAssignment,
    session: SessionDep,
    user: Dispatcher,
) -> AssignmentOut:
    """Assign a courier to a delivery order that is preparing or ready.

    A different courier replaces the current one, and the customer receives a new code.
    """
    store = await load_store_for(session, user, store_id)
    order = await assign_by_staff(
        session, store, order_id, body.courier_id, actor=Actor.staff(user)
    )
    courier = await session.get(User, body.courier_id)
    assert order.courier_id is not None
    assert order.courier_assigned_at is not None
    return AssignmentOut(
        order_id=order.id,
        order_number=order.number,
        status=order.status,
        courier_id=order.courier_id,
        courier_name=courier.full_name if courier else None,
        courier_assigned_at=order.courier_assigned_at,
    )


@router.get(
    "/orders/{order_id}/proof",
    response_model=SignedUrlOut,
    responses=_problems({404: _NOT_FOUND + " Or the order has no proof photo."}),
)
async def get_proof_photo(
    store_id: uuid.UUID,
    order_id: uuid.UUID,
    session: SessionDep,
    storage: StorageDep,
    user: Dispatcher,
) -> SignedUrlOut:
    """Return a short-lived URL of the order's proof-of-delivery photo."""
    store = await load_store_for(session, user, store_id)
    signed = await deliveries.proof_photo_url(session, storage, store, order_id)
    return SignedUrlOut(url=signed.url, expires_at=signed.expires_at)


@files_router.get(
    "/files/{key:path}",
    response_class=FileResponse,
    responses=_problems({404: "Unknown file, or the signature is invalid or expired."}),
)
async def read_file(
    key: str,
    storage: StorageDep,
    expires: Annotated[int, Query(description="Unix time the URL expires.")],
    signature: Annotated[str, Query(max_length=128)],
) -> FileResponse:
    """Serve a file of the local storage to the holder of a signed URL."""
    missing = NotFoundError(
        "The file does not exist, or its link is invalid or expired.",
        field="signature",
        fix="ask for a new link",
    )
    if not isinstance(storage, LocalStorage):
        raise missing
    if not storage.is_valid(key, expires, signature, now=utcnow()):
        raise missing
    try:
        path = storage.path_of(key)
    except ValueError:
        raise missing from None
    if not path.is_file():
        raise missing
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "private"})
