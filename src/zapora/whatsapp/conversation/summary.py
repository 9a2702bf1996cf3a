"""The order summary shown before confirmation, and the labels it shares with checkout."""

from __future__ import annotations

from zapora.orders.models import Fulfilment, PaymentMethod
from zapora.orders.pricing import DeliveryTerms
from zapora.whatsapp.conversation.cart import PricedCart
from zapora.whatsapp.conversation.cart_steps import cart_lines_text
from zapora.whatsapp.conversation.delivery import summary_lines
from zapora.whatsapp.conversation.state import Checkout
from zapora.whatsapp.conversation.turn import Turn


def is_delivery(checkout: Checkout) -> bool:
    return checkout.fulfilment == Fulfilment.DELIVERY.value


def method_label(turn: Turn, checkout: Checkout, method: PaymentMethod) -> str:
    if method is PaymentMethod.CASH:
        return turn.t("conv.button_cash")
    if method is PaymentMethod.PIX:
        return turn.t("conv.button_pix")
    if is_delivery(checkout):
        return turn.t("conv.button_card_delivery")
    return turn.t("conv.button_card_pickup")


def summary_text(
    turn: Turn,
    checkout: Checkout,
    method: PaymentMethod,
    priced: PricedCart,
    terms: DeliveryTerms,
) -> str:
    """Return the summary: lines, subtotal, delivery terms, total, address and payment."""
    lines = [
        turn.t("conv.summary_title"),
        cart_lines_text(turn, priced),
        "",
        turn.t("conv.summary_subtotal", amount=turn.money(priced.subtotal)),
    ]
    if is_delivery(checkout):
        lines += summary_lines(turn, terms)
    lines += [turn.t("conv.summary_total", amount=turn.money(priced.subtotal + terms.fee)), ""]
    if is_delivery(checkout):
        lines.append(turn.t("conv.delivery_to", address=address_label(turn, checkout)))
    else:
        lines.append(turn.t("conv.summary_pickup"))
    if method is PaymentMethod.CASH and checkout.change_for is not None:
        lines.append(turn.t("conv.summary_change", amount=turn.money(checkout.change_for)))
    else:
        lines.append(turn.t("conv.summary_payment", method=method_label(turn, checkout, method)))
    return "\n".join(lines)


def address_label(turn: Turn, checkout: Checkout) -> str:
    if checkout.address_text:
        return checkout.address_text
    if checkout.latitude is None or checkout.longitude is None:
        return "-"
    return turn.t(
        "conv.address_pin",
        latitude=f"{checkout.latitude:.5f}",
        longitude=f"{checkout.longitude:.5f}",
    )
