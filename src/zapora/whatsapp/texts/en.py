"""English texts; the keys match pt_br.TEXTS."""

TEXTS: dict[str, str] = {
    "apology": (
        "Sorry, we had a problem handling your message. "
        "The store has been told. Try again in a few minutes or send *menu*."
    ),
    "order_status.accepted": "Your order #{number} was accepted by the store. 👍",
    "order_status.preparing": "Your order #{number} is being prepared. 👩‍🍳",
    "order_status.ready": "Your order #{number} is ready.",
    "order_status.ready_pickup": "Your order #{number} is ready for pickup. 🛍️",
    "order_status.out_for_delivery": "Your order #{number} is out for delivery. 🛵",
    "order_status.delivered": "Your order #{number} was delivered. Enjoy!",
    "order_status.picked_up": "Order #{number} picked up. Thank you!",
    "order_status.cancelled": "Your order #{number} was cancelled. Reason: {reason}",
}
