"""The end of checkout: payment method, change for cash, the summary and placing the order."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import structlog

from zapora.audit.service import Actor
from zapora.db import utcnow
from zapora.errors import ConflictError, InvalidInputError
from zapora.orders.errors import (
    BelowMinimumOrderError,
    EmptyOrderError,
    ItemUnavailableError,
    StoreClosedError,
)
from zapora.orders.models import ActorType, Fulfilment, Order, OrderSource, PaymentMethod
from zapora.orders.placement import OrderDraft, PlacementAudit, place_order
from zapora.orders.pricing import DeliveryTerms, LocationRequiredError
from zapora.payments.service import pix_charge_for
from zapora.stores.zones import OutsideDeliveryAreaError
from zapora.tracking.service import tracking_url
from zapora.whatsapp.conversation.cart import PricedCart, line_requests
from zapora.whatsapp.conversation.cart_steps import (
    cancel_draft,
    checkout_ready,
    load_cart,
    show_cart,
)
from zapora.whatsapp.conversation.change import change_example, change_limit, change_problem
from zapora.whatsapp.conversation.closed import describe_opening
from zapora.whatsapp.conversation.delivery import ASK_ADDRESS_KEYS, log_unserved, terms_for
from zapora.whatsapp.conversation.menu_views import go, show_menu
from zapora.whatsapp.conversation.parsing import (
    NO_WORDS,
    YES_WORDS,
    AmountTooLargeError,
    parse_amount,
)
from zapora.whatsapp.conversation.state import Checkout, Step
from zapora.whatsapp.conversation.summary import method_label, summary_text
from zapora.whatsapp.conversation.turn import Answer, Turn
from zapora.whatsapp.messages import split_text, text_body

logger = structlog.get_logger(__name__)

PAY_PREFIX = "pay:"
NO_CHANGE = "chg:none"
CONFIRM = "ok:confirm"
CANCEL = "ok:cancel"

PAYMENT_WORDS: dict[str, PaymentMethod] = {
    "dinheiro": PaymentMethod.CASH,
    "cash": PaymentMethod.CASH,
    "cartao": PaymentMethod.CARD_ON_DELIVERY,
    "credito": PaymentMethod.CARD_ON_DELIVERY,
    "debito": PaymentMethod.CARD_ON_DELIVERY,
    "card": PaymentMethod.CARD_ON_DELIVERY,
    "pix": PaymentMethod.PIX,
}

_METHODS = {method.value: method for method in PaymentMethod}
_FULFILMENTS = {fulfilment.value: fulfilment for fulfilment in Fulfilment}


async def _ready_checkout(turn: Turn) -> tuple[Checkout, PricedCart, DeliveryTerms] | None:
    """Return the checkout choices, the priced cart and the delivery terms.

    When one of them no longer holds (the address left the delivery area, the cart is
    below the zone's minimum), reply what to do and return None.
    """
    checkout = turn.state.checkout
    if checkout is None or checkout.fulfilment is None:
        await show_cart(turn)
        return None
    try:
        terms = await terms_for(turn, checkout)
    except (OutsideDeliveryAreaError, LocationRequiredError) as exc:
        await _ask_address_again(turn, exc)
        return None
    zone = terms.zone.name if terms.zone else None
    priced = await checkout_ready(turn, minimum=terms.minimum_order, zone=zone)
    if priced is None:
        return None
    return checkout, priced, terms


async def _ask_address_again(
    turn: Turn, error: OutsideDeliveryAreaError | LocationRequiredError
) -> None:
    """Ask for another address after the checkout's one stopped being served."""
    log_unserved(turn, error)
    go(turn, Step.ADDRESS)
    key = ASK_ADDRESS_KEYS[type(error)]
    turn.ask_location(turn.t(key))


async def ask_payment(turn: Turn) -> None:
    ready = await _ready_checkout(turn)
    if ready is None:
        return
    checkout, priced, terms = ready
    go(turn, Step.PAYMENT)
    total = priced.subtotal + terms.fee
    buttons = [
        (f"{PAY_PREFIX}{method.value}", method_label(turn, checkout, method))
        for method in PaymentMethod
    ]
    turn.ask_buttons(turn.t("conv.payment_question", total=turn.money(total)), buttons)


async def handle_payment(turn: Turn, answer: Answer) -> bool:
    method = PAYMENT_WORDS.get(answer.text)
    if answer.choice and answer.choice.startswith(PAY_PREFIX):
        method = _METHODS.get(answer.choice.removeprefix(PAY_PREFIX))
    checkout = turn.state.checkout
    if method is None or checkout is None:
        return False
    checkout.payment = method.value
    checkout.change_for = None
    if method is PaymentMethod.CASH:
        await ask_change(turn)
    else:
        await show_summary(turn)
    return True


async def ask_change(turn: Turn, question_key: str = "conv.change_question") -> None:
    ready = await _ready_checkout(turn)
    if ready is None:
        return
    _, priced, terms = ready
    go(turn, Step.CHANGE)
    total = priced.subtotal + terms.fee
    question = turn.t(question_key, total=turn.money(total), example=change_example(total))
    turn.ask_buttons(question, [(NO_CHANGE, turn.t("conv.button_no_change"))])


async def handle_change(turn: Turn, answer: Answer) -> bool:
    checkout = turn.state.checkout
    if checkout is None:
        return False
    if answer.choice == NO_CHANGE or answer.text in NO_WORDS:
        checkout.change_for = None
        await show_summary(turn)
        return True
    if answer.text in YES_WORDS:
        await ask_change(turn, "conv.change_amount_question")
        return True
    if not answer.raw_text:
        return False
    ready = await _ready_checkout(turn)
    if ready is None:
        return True
    _, priced, terms = ready
    total = priced.subtotal + terms.fee
    problem = _read_change(turn, checkout, answer.raw_text, total)
    if problem is None:
        await show_summary(turn)
        return True
    turn.note(problem)
    await ask_change(turn)
    return True


def _read_change(turn: Turn, checkout: Checkout, text: str, total: int) -> str | None:
    """Store the typed cash amount in the checkout, or return why it cannot be used."""
    try:
        # NOTE: amounts are read with two decimal places, as BRL, USD and EUR use.
        amount = parse_amount(text)
    except AmountTooLargeError:
        return turn.t("conv.change_too_high", limit=turn.money(change_limit(total)))
    if amount is None:
        return turn.t("conv.change_invalid", example=change_example(total))
    problem = change_problem(turn, amount, total)
    if problem is None:
        checkout.change_for = amount
    return problem


async def show_summary(turn: Turn) -> None:
    ready = await _ready_checkout(turn)
    if ready is None:
        return
    checkout, priced, terms = ready
    method = _METHODS.get(checkout.payment or "")
    if method is None:
        await ask_payment(turn)
        return
    fee = terms.fee
    if checkout.change_for is not None:
        # The total may have changed since the amount was typed.
        problem = change_problem(turn, checkout.change_for, priced.subtotal + fee)
        if problem is not None:
            checkout.change_for = None
            turn.note(problem)
            await ask_change(turn)
            return
    go(turn, Step.CONFIRM)
    checkout.shown_subtotal = priced.subtotal
    checkout.shown_delivery_fee = fee
    buttons = [
        (CONFIRM, turn.t("conv.button_confirm")),
        (CANCEL, turn.t("conv.button_cancel")),
    ]
    details = summary_text(turn, checkout, method, priced, terms)
    turn.ask_buttons(turn.t("conv.confirm_question"), buttons, details=details)


async def handle_confirm(turn: Turn, answer: Answer) -> bool:
    if answer.choice == CONFIRM or answer.text in YES_WORDS:
        await place(turn)
        return True
    if answer.choice == CANCEL or answer.text in NO_WORDS:
        await cancel_draft(turn)
        return True
    return False


def _draft(
    turn: Turn, checkout: Checkout, fulfilment: Fulfilment, method: PaymentMethod
) -> OrderDraft:
    delivery = fulfilment is Fulfilment.DELIVERY
    return OrderDraft(
        lines=line_requests(turn.state),
        fulfilment=fulfilment,
        payment_method=method,
        source=OrderSource.WHATSAPP,
        change_for=checkout.change_for,
        address_text=checkout.address_text if delivery else None,
        latitude=checkout.latitude if delivery else None,
        longitude=checkout.longitude if delivery else None,
        customer_id=turn.customer.id,
        customer_name=turn.customer.profile_name,
        customer_phone=turn.customer.wa_id,
    )


async def _summary_outdated(turn: Turn, checkout: Checkout) -> bool:
    """Return whether the summary the customer confirmed no longer holds.

    That is when the cart or the delivery fee now costs other than the summary showed, or
    when the change amount no longer suits the total. Only a price change adds a note here,
    because the summary explains a wrong change amount itself.
    """
    priced = await load_cart(turn)
    if priced.unavailable:
        # Placement rejects the order and the reply names the item to remove.
        return False
    try:
        fee = (await terms_for(turn, checkout)).fee
    except (OutsideDeliveryAreaError, LocationRequiredError):
        # The zones changed since the summary, so showing it again requests another address.
        return True
    if (priced.subtotal, fee) != (checkout.shown_subtotal, checkout.shown_delivery_fee):
        # A conversation saved without the shown amounts has seen no price to compare.
        if checkout.shown_subtotal is not None:
            turn.note(turn.t("conv.prices_changed"))
        logger.info(
            "conversation.summary_outdated",
            store_id=str(turn.store.id),
            customer_id=str(turn.customer.id),
        )
        return True
    change = checkout.change_for
    return change is not None and change_problem(turn, change, priced.subtotal + fee) is not None


async def place(turn: Turn) -> None:
    """Place the order from the cart, priced from the catalog now, and reply with its number.

    When the summary the customer confirmed no longer holds, nothing is placed and the
    new summary, or the change question, is asked again.
    """
    checkout = turn.state.checkout
    fulfilment = _FULFILMENTS.get(checkout.fulfilment or "") if checkout else None
    method = _METHODS.get(checkout.payment or "") if checkout else None
    if checkout is None or fulfilment is None or method is None:
        await show_cart(turn)
        return
    if await _summary_outdated(turn, checkout):
        await show_summary(turn)
        return
    try:
        # A failed placement rolls back to here, so no half-written order stays behind.
        async with turn.session.begin_nested():
            order = await place_order(
                turn.session,
                turn.store,
                _draft(turn, checkout, fulfilment, method),
                actor_type=ActorType.CUSTOMER,
                actor_id=turn.customer.id,
                audit=PlacementAudit("order.placed", Actor.customer(turn.customer.id)),
            )
    except (StoreClosedError, ItemUnavailableError, InvalidInputError) as exc:
        logger.info(
            "conversation.order_rejected",
            store_id=str(turn.store.id),
            customer_id=str(turn.customer.id),
            code=exc.code,
        )
        await _explain_rejection(turn, exc)
        return
    turn.state.cart = []
    turn.state.clear_draft()
    turn.state.choices = []
    go(turn, Step.IDLE)
    turn.order_id = order.id
    turn.note(turn.t("conv.order_placed", number=order.number, total=turn.money(order.total)))
    if order.tracking_token:
        link = tracking_url(turn.settings.public_base_url, order.tracking_token)
        turn.note(turn.t("conv.order_tracking", url=link))
    if method is PaymentMethod.PIX:
        _send_pix_code(turn, order)


def _send_pix_code(turn: Turn, order: Order) -> None:
    """Send the confirmation, then the PIX code alone in a text the customer copies whole."""
    try:
        charge = pix_charge_for(turn.store, order)
    except ConflictError as exc:
        # Without a PIX key the store collects the payment its own way.
        logger.info(
            "conversation.pix_code_unavailable",
            store_id=str(turn.store.id),
            order_id=str(order.id),
            code=exc.code,
        )
        return
    turn.note(turn.t("conv.pix_code_next", total=turn.money(charge.amount)))
    for chunk in split_text("\n\n".join(turn.notes)):
        turn.replies.append(text_body(chunk))
    turn.notes.clear()
    turn.replies.append(text_body(charge.code))
    turn.reply_kinds[len(turn.replies) - 1] = "pix"


def _closed_text(turn: Turn, error: StoreClosedError) -> str:
    """Return the reply to a store that closed before confirmation, naming its next opening."""
    if error.opens_next_at is None:
        return turn.t("conv.placement_closed")
    zone = ZoneInfo(turn.store.time_zone)
    when = describe_opening(turn.store.language, error.opens_next_at, utcnow(), zone)
    return turn.t("conv.placement_closed_until", when=when)


async def _explain_rejection(turn: Turn, error: Exception) -> None:
    if isinstance(error, StoreClosedError):
        turn.state.clear_draft()
        turn.state.choices = []
        go(turn, Step.CART)
        turn.note(_closed_text(turn, error))
    elif isinstance(error, OutsideDeliveryAreaError | LocationRequiredError):
        await _ask_address_again(turn, error)
    elif isinstance(error, BelowMinimumOrderError) and await _ready_checkout(turn) is None:
        return
    elif isinstance(error, ItemUnavailableError):
        turn.note(turn.t("conv.placement_unavailable"))
        await show_cart(turn)
    elif isinstance(error, EmptyOrderError):
        turn.note(turn.t("conv.checkout_empty"))
        await show_menu(turn)
    else:
        turn.note(turn.t("conv.placement_changed"))
        await show_cart(turn)
