"""Courier API: the caller's own shift, position, offers and deliveries."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Response, UploadFile, status
from sqlalchemy import select

from zapora.db import utcnow
from zapora.delivery import couriers, deliveries, offers
from zapora.delivery.dependencies import CourierDep, StorageDep
from zapora.delivery.models import CourierState, DeliveryOffer, OfferStatus
from zapora.delivery.schemas import (
    CourierStateOut,
    DeliveryFailure,
    DeliveryList,
    DeliveryOut,
    OfferList,
    OfferOut,
    OrderBrief,
    PositionReport,
    ShiftChange,
)
from zapora.dependencies import SessionDep, SettingsDep
from zapora.errors import PROBLEM_CONTENT_TYPE
from zapora.orders.models import Order
from zapora.stores.models import Store
from zapora.stores.zones import haversine_meters

router = APIRouter(prefix="/courier", tags=["courier"])


def _problems(descriptions: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    return {
        code: {"description": description, "content": {PROBLEM_CONTENT_TYPE: {}}}
        for code, description in descriptions.items()
    }


def _state_out(state: CourierState, applied: bool | None = None) -> CourierStateOut:
    return CourierStateOut(
        on_shift=state.on_shift,
        shift_started_at=state.shift_started_at,
        latitude=state.latitude,
        longitude=state.longitude,
        position_at=state.position_at,
        position_applied=applied,
    )


def _delivery_out(order: Order) -> DeliveryOut:
    return DeliveryOut(
        order=OrderBrief.model_validate(order),
        courier_assigned_at=order.courier_assigned_at,
        delivery_failed_reason=order.delivery_failed_reason,
    )


@router.get("/shift", response_model=CourierStateOut, responses=_problems({404: "Not a courier."}))
async def get_shift(session: SessionDep, courier: CourierDep) -> CourierStateOut:
    """Return the caller's shift and last reported position."""
    state = await session.get(CourierState, courier.id)
    if state is None:
        return CourierStateOut(
            on_shift=False, shift_started_at=None, latitude=None, longitude=None, position_at=None
        )
    return _state_out(state)


@router.post("/shift", response_model=CourierStateOut, responses=_problems({404: "Not a courier."}))
async def change_shift(
    body: ShiftChange, session: SessionDep, courier: CourierDep
) -> CourierStateOut:
    """Start or end the caller's shift. Only couriers on shift receive offers."""
    return _state_out(await couriers.set_shift(session, courier, body.on_shift))


@router.post(
    "/position",
    response_model=CourierStateOut,
    responses=_problems(
        {422: "Coordinates out of range, or recorded_at in the future or over 24 hours old."}
    ),
)
async def report_position(
    body: PositionReport, session: SessionDep, courier: CourierDep
) -> CourierStateOut:
    """Report the caller's position. A report older than the stored one is ignored."""
    state, applied = await couriers.report_position(
        session,
        courier,
        latitude=body.latitude,
        longitude=body.longitude,
        recorded_at=body.recorded_at,
    )
    return _state_out(state, applied)


@router.get("/offers", response_model=OfferList)
async def list_offers(session: SessionDep, courier: CourierDep) -> OfferList:
    """List the caller's open offers, soonest to expire first."""
    rows = await session.execute(
        select(DeliveryOffer, Order, Store)
        .join(Order, Order.id == DeliveryOffer.order_id)
        .join(Store, Store.id == DeliveryOffer.store_id)
        .where(
            DeliveryOffer.courier_id == courier.id,
            DeliveryOffer.store_id == courier.store_id,
            DeliveryOffer.status == OfferStatus.OFFERED.value,
            DeliveryOffer.expires_at > utcnow(),
        )
        .order_by(DeliveryOffer.expires_at)
    )
    items = []
    for offer, order, store in rows:
        distance = None
        if None not in (store.latitude, store.longitude, order.latitude, order.longitude):
            distance = round(
                haversine_meters(
                    store.latitude,  # type: ignore[arg-type]
                    store.longitude,  # type: ignore[arg-type]
                    order.latitude,  # type: ignore[arg-type]
                    order.longitude,  # type: ignore[arg-type]
                )
            )
        items.append(
            OfferOut(
                id=offer.id,
                status=offer.status,
                offered_at=offer.offered_at,
                expires_at=offer.expires_at,
                distance_meters=distance,
                order=OrderBrief.model_validate(order),
            )
        )
    return OfferList(items=items)


@router.post(
    "/offers/{offer_id}/accept",
    response_model=DeliveryOut,
    responses=_problems(
        {404: "No such offer for the caller.", 409: "The offer expired or the order is taken."}
    ),
)
async def accept_offer(
    offer_id: uuid.UUID, session: SessionDep, courier: CourierDep
) -> DeliveryOut:
    """Accept an offer and take the order. The customer receives the handover code."""
    return _delivery_out(await offers.accept_offer(session, courier, offer_id))


@router.post(
    "/offers/{offer_id}/decline",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_problems({404: "No such offer for the caller.", 409: "The offer was answered."}),
)
async def decline_offer(offer_id: uuid.UUID, session: SessionDep, courier: CourierDep) -> Response:
    """Decline an offer, which passes the order to the next courier."""
    await offers.decline_offer(session, courier, offer_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/deliveries", response_model=DeliveryList)
async def list_deliveries(session: SessionDep, courier: CourierDep) -> DeliveryList:
    """List the caller's assigned orders that are not finished."""
    orders = await deliveries.list_deliveries(session, courier)
    return DeliveryList(items=[_delivery_out(order) for order in orders])


_DELIVERY_PROBLEMS = {404: "Not one of the caller's deliveries.", 409: "Wrong order status."}


@router.post(
    "/deliveries/{order_id}/picked-up",
    response_model=DeliveryOut,
    responses=_problems(_DELIVERY_PROBLEMS),
)
async def mark_picked_up(
    order_id: uuid.UUID, session: SessionDep, courier: CourierDep
) -> DeliveryOut:
    """Mark the order collected from the store: it is now out for delivery."""
    return _delivery_out(await deliveries.mark_picked_up(session, courier, order_id))


@router.post(
    "/deliveries/{order_id}/delivered",
    response_model=DeliveryOut,
    responses=_problems(
        {
            **_DELIVERY_PROBLEMS,
            413: "The photo exceeds proof_photo_max_bytes.",
            415: "The photo is not a JPEG or PNG.",
            422: "No proof, or a wrong handover code.",
            429: "Too many wrong handover codes; send a photo.",
        }
    ),
)
async def mark_delivered(
    order_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    courier: CourierDep,
    handover_code: Annotated[
        str | None, Form(max_length=16, description="The code the customer received.")
    ] = None,
    photo: Annotated[
        UploadFile | None, File(description="A JPEG or PNG photo of the handover.")
    ] = None,
) -> DeliveryOut:
    """Complete a delivery with the customer's handover code or a photo (multipart form)."""
    proof = None
    if photo is not None:
        # One byte over the limit is enough to know the photo is too large.
        data = await photo.read(settings.proof_photo_max_bytes + 1)
        proof = deliveries.check_photo(data, max_bytes=settings.proof_photo_max_bytes)
    try:
        order = await deliveries.mark_delivered(
            session, storage, courier, order_id, handover_code=handover_code, photo=proof
        )
    except deliveries.WrongHandoverCodeError:
        # Keep the record of the wrong attempt, which limits how often a code can be guessed.
        await session.commit()
        raise
    return _delivery_out(order)


@router.post(
    "/deliveries/{order_id}/failed",
    response_model=DeliveryOut,
    responses=_problems(_DELIVERY_PROBLEMS),
)
async def mark_failed(
    order_id: uuid.UUID, body: DeliveryFailure, session: SessionDep, courier: CourierDep
) -> DeliveryOut:
    """Report that the order could not be delivered, with the reason."""
    order = await deliveries.mark_failed(session, courier, order_id, reason=body.reason)
    return _delivery_out(order)
