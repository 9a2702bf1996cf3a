"""Delivery terms in the chat: the zone of a pin, the typed-address policy, the minimum.

The terms come from ``orders.pricing.delivery_terms``, the function order placement uses,
so the fee, minimum and estimate shown to the customer are the ones stored on the order.
"""

from __future__ import annotations

import structlog

from zapora.orders.models import Fulfilment
from zapora.orders.pricing import DeliveryTerms, LocationRequiredError, delivery_terms
from zapora.stores.models import TypedAddressPolicy
from zapora.stores.zones import OutsideDeliveryAreaError
from zapora.stores.zones_service import active_zones
from zapora.whatsapp.conversation.state import Checkout
from zapora.whatsapp.conversation.turn import Turn

logger = structlog.get_logger(__name__)

# The request for another address after each way an address can fail to be served.
ASK_ADDRESS_KEYS: dict[type[Exception], str] = {
    OutsideDeliveryAreaError: "conv.outside_area",
    LocationRequiredError: "conv.address_pin_required",
}


def log_unserved(turn: Turn, error: OutsideDeliveryAreaError | LocationRequiredError) -> None:
    logger.info(
        "conversation.address_not_served",
        store_id=str(turn.store.id),
        customer_id=str(turn.customer.id),
        code=error.code,
    )


async def has_zones(turn: Turn) -> bool:
    """Return whether the store prices delivery by zone."""
    return bool(await active_zones(turn.session, turn.store.id))


async def lowest_minimum(turn: Turn) -> int:
    """Return the smallest minimum order of any way to receive the order.

    Before the customer chooses delivery or pickup, a cart below the store's minimum may
    still reach a zone whose minimum is lower.
    """
    zones = await active_zones(turn.session, turn.store.id)
    return min([turn.store.minimum_order, *(zone.minimum_order for zone in zones)])


async def pins_only(turn: Turn) -> bool:
    """Return whether a typed address is refused and a location pin asked for instead."""
    if turn.store.typed_address_policy != TypedAddressPolicy.REFUSE.value:
        return False
    return await has_zones(turn)


async def terms_for(turn: Turn, checkout: Checkout) -> DeliveryTerms:
    """Return the terms of the checkout's choices, raising as ``delivery_terms`` does."""
    fulfilment = Fulfilment(checkout.fulfilment or Fulfilment.PICKUP.value)
    delivery = fulfilment is Fulfilment.DELIVERY
    return await delivery_terms(
        turn.session,
        turn.store,
        fulfilment,
        checkout.latitude if delivery else None,
        checkout.longitude if delivery else None,
    )


async def address_terms(
    turn: Turn, latitude: float | None, longitude: float | None
) -> DeliveryTerms:
    """Return the delivery terms of an address, raising as ``delivery_terms`` does."""
    return await delivery_terms(turn.session, turn.store, Fulfilment.DELIVERY, latitude, longitude)


def note_terms(turn: Turn, terms: DeliveryTerms) -> None:
    """Tell the customer the zone's fee and estimate, or that the fee is provisional."""
    if terms.zone is not None and terms.estimate_minutes is not None:
        turn.note(
            turn.t("conv.zone_terms", fee=turn.money(terms.fee), minutes=terms.estimate_minutes)
        )
    if terms.fee_pending:
        turn.note(turn.t("conv.fee_to_confirm"))


def summary_lines(turn: Turn, terms: DeliveryTerms) -> list[str]:
    """Return the summary's delivery fee line, and the zone and estimate lines when zoned."""
    key = "conv.summary_fee_pending" if terms.fee_pending else "conv.summary_fee"
    lines = [turn.t(key, amount=turn.money(terms.fee))]
    if terms.zone is not None:
        minimum = turn.money(terms.minimum_order)
        lines.append(turn.t("conv.summary_zone", zone=terms.zone.name, minimum=minimum))
    if terms.estimate_minutes is not None:
        lines.append(turn.t("conv.summary_estimate", minutes=terms.estimate_minutes))
    return lines
