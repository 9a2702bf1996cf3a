"""Checkout up to the payment: delivery or pickup, and the delivery address."""

from __future__ import annotations

from zapora.customers.models import CustomerAddress
from zapora.orders.models import Fulfilment
from zapora.orders.pricing import DeliveryTerms, LocationRequiredError
from zapora.stores.zones import OutsideDeliveryAreaError
from zapora.whatsapp.conversation.cart_steps import checkout_ready
from zapora.whatsapp.conversation.delivery import (
    ASK_ADDRESS_KEYS,
    address_terms,
    has_zones,
    log_unserved,
    lowest_minimum,
    note_terms,
    pins_only,
)
from zapora.whatsapp.conversation.menu_views import go
from zapora.whatsapp.conversation.parsing import ADDRESS_MAX_LENGTH, clean_address
from zapora.whatsapp.conversation.payment import ask_payment
from zapora.whatsapp.conversation.queries import last_address, touch_address
from zapora.whatsapp.conversation.state import Checkout, Step
from zapora.whatsapp.conversation.summary import address_label
from zapora.whatsapp.conversation.turn import Answer, Turn
from zapora.whatsapp.events import IncomingMessage

DELIVERY = "ful:delivery"
PICKUP = "ful:pickup"
USE_SAVED_ADDRESS = "addr:saved"

DELIVERY_WORDS = frozenset({"entrega", "entregar", "delivery", "deliver"})
PICKUP_WORDS = frozenset(
    {"retirada", "retirar", "retirar na loja", "buscar", "pickup", "pick up", "pick up at store"}
)


async def start_checkout(turn: Turn) -> None:
    """Check the cart can be ordered, then ask how the customer wants to receive it."""
    turn.state.pending = None
    if await checkout_ready(turn, minimum=await lowest_minimum(turn)) is None:
        return
    turn.state.checkout = Checkout()
    await ask_fulfilment(turn)


async def ask_fulfilment(turn: Turn) -> None:
    go(turn, Step.FULFILMENT)
    fee = turn.store.delivery_fee
    if await has_zones(turn):
        question = turn.t("conv.fulfilment_question_zones")
    elif fee:
        question = turn.t("conv.fulfilment_question", fee=turn.money(fee))
    else:
        question = turn.t("conv.fulfilment_question_free")
    buttons = [
        (DELIVERY, turn.t("conv.button_delivery")),
        (PICKUP, turn.t("conv.button_pickup")),
    ]
    turn.ask_buttons(question, buttons)


async def handle_fulfilment(turn: Turn, answer: Answer) -> bool:
    checkout = turn.state.checkout or Checkout()
    turn.state.checkout = checkout
    if answer.choice == DELIVERY or answer.text in DELIVERY_WORDS:
        checkout.fulfilment = Fulfilment.DELIVERY.value
        await ask_address(turn)
        return True
    if answer.choice == PICKUP or answer.text in PICKUP_WORDS:
        await _pick_up(turn, checkout)
        return True
    return False


async def _pick_up(turn: Turn, checkout: Checkout) -> None:
    checkout.fulfilment = Fulfilment.PICKUP.value
    _set_address(checkout, None, None, None)
    await ask_payment(turn)


async def ask_address(turn: Turn) -> None:
    """Offer the last saved address as a button, or ask for a pin or a typed address.

    When the store takes pins only, a saved address without a pin is not offered.
    """
    go(turn, Step.ADDRESS)
    saved = await last_address(turn.session, turn.store.id, turn.customer.id)
    pin_needed = await pins_only(turn)
    if saved is not None and pin_needed and saved.latitude is None:
        saved = None
    if saved is None:
        key = "conv.address_pin_required" if pin_needed else "conv.address_question"
        turn.ask_location(turn.t(key))
        return
    label = address_label(turn, _as_checkout(saved))
    turn.ask_buttons(
        turn.t("conv.address_saved_question", address=label),
        [(USE_SAVED_ADDRESS, turn.t("conv.button_use_address"))],
    )


def _as_checkout(address: CustomerAddress) -> Checkout:
    return Checkout(
        address_text=address.text, latitude=address.latitude, longitude=address.longitude
    )


def _set_address(
    checkout: Checkout, text: str | None, latitude: float | None, longitude: float | None
) -> None:
    checkout.address_text = text
    checkout.latitude = latitude
    checkout.longitude = longitude


async def _terms_or_ask_again(
    turn: Turn, latitude: float | None, longitude: float | None
) -> DeliveryTerms | None:
    """Return the delivery terms of an address, or ask for another one and return None.

    A pin outside every zone gets the outside-area reply, and a typed address in a store
    that takes pins only gets a request for a pin. Both replies offer pickup instead.
    """
    try:
        return await address_terms(turn, latitude, longitude)
    except (OutsideDeliveryAreaError, LocationRequiredError) as exc:
        log_unserved(turn, exc)
        go(turn, Step.ADDRESS)
        turn.ask_location(turn.t(ASK_ADDRESS_KEYS[type(exc)]))
        return None


async def _deliver_to(
    turn: Turn, text: str | None, latitude: float | None, longitude: float | None
) -> None:
    """Use a served address: save it for next time, put it in the checkout, ask the payment.

    An address outside the delivery area is neither saved nor used.
    """
    terms = await _terms_or_ask_again(turn, latitude, longitude)
    if terms is None:
        return
    await touch_address(
        turn.session,
        turn.store.id,
        turn.customer.id,
        text=text,
        latitude=latitude,
        longitude=longitude,
    )
    checkout = turn.state.checkout or Checkout()
    turn.state.checkout = checkout
    checkout.fulfilment = Fulfilment.DELIVERY.value
    _set_address(checkout, text, latitude, longitude)
    turn.note(turn.t("conv.delivery_to", address=address_label(turn, checkout)))
    note_terms(turn, terms)
    await ask_payment(turn)


async def handle_address(turn: Turn, answer: Answer) -> bool:
    if answer.choice == USE_SAVED_ADDRESS:
        saved = await last_address(turn.session, turn.store.id, turn.customer.id)
        if saved is None:
            await ask_address(turn)
            return True
        await _deliver_to(turn, saved.text, saved.latitude, saved.longitude)
        return True
    if answer.text in PICKUP_WORDS:
        # Offered in the reply to an address outside the delivery area.
        checkout = turn.state.checkout or Checkout()
        turn.state.checkout = checkout
        await _pick_up(turn, checkout)
        return True
    if not answer.raw_text:
        return False
    address = clean_address(answer.raw_text)
    if address is None:
        turn.note(turn.t("conv.address_invalid"))
        await ask_address(turn)
        return True
    await _deliver_to(turn, address, None, None)
    return True


def location_text(message: IncomingMessage) -> str | None:
    """Return the place name and address WhatsApp attached to a pin, if any."""
    parts = [part.strip() for part in (message.location_name, message.location_address) if part]
    text = ", ".join(part for part in parts if part)
    return text[:ADDRESS_MAX_LENGTH] or None


async def use_location(turn: Turn, message: IncomingMessage) -> None:
    """Use a pin sent during checkout as the delivery address."""
    await _deliver_to(turn, location_text(message), message.latitude, message.longitude)


async def save_location(turn: Turn, message: IncomingMessage) -> None:
    """Keep a pin sent outside checkout so it is offered when the customer checks out.

    The zone is looked up at once: a pin outside the delivery area is not kept.
    """
    try:
        terms = await address_terms(turn, message.latitude, message.longitude)
    except OutsideDeliveryAreaError as exc:
        log_unserved(turn, exc)
        turn.note(turn.t("conv.outside_area_saved"))
        return
    await touch_address(
        turn.session,
        turn.store.id,
        turn.customer.id,
        text=location_text(message),
        latitude=message.latitude,
        longitude=message.longitude,
    )
    turn.note(turn.t("conv.location_saved"))
    note_terms(turn, terms)
