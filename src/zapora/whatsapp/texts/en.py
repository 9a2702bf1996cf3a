"""English texts; the keys match pt_br.TEXTS."""

TEXTS: dict[str, str] = {
    "apology": (
        "Sorry, we had a problem handling your message. "
        "The store has been told. Try again in a few minutes or send *menu*."
    ),
    "order_status.accepted": "Your order #{number} was accepted by the store. 👍",
    "order_status.preparing": "Your order #{number} is being prepared. 👩‍🍳",
    "order_status.ready": "Your order #{number} is ready and will leave for delivery soon. 🛵",
    "order_status.ready_pickup": "Your order #{number} is ready for pickup. 🛍️",
    "order_status.out_for_delivery": "Your order #{number} is out for delivery. 🛵",
    "order_status.delivered": "Your order #{number} was delivered. Enjoy!",
    "order_status.picked_up": "Order #{number} picked up. Thank you!",
    "order_status.cancelled": "Your order #{number} was cancelled. Reason: {reason}",
    "order_status.delivery_failed": (
        "We could not deliver your order #{number}. The store will contact you soon."
    ),
    "order_update.courier_assigned": (
        "{courier_name} will deliver your order #{number}. 🛵 "
        "Give the courier the code *{handover_code}* on delivery."
    ),
    "order_update.running_late": (
        "Your order #{number} is taking longer than expected. Sorry for the wait!"
    ),
    "status_label.placed": "received",
    "status_label.accepted": "accepted",
    "status_label.preparing": "being prepared",
    "status_label.ready": "ready",
    "status_label.out_for_delivery": "out for delivery",
    "status_label.delivered": "delivered",
    "status_label.delivery_failed": "not delivered",
    "status_label.picked_up": "picked up",
    "status_label.cancelled": "cancelled",
    "conv.list_footer": "Tap an option or type its position: 1, 2, 3…",
    "conv.button_choose": "Choose",
    "conv.page_next": "More items ›",
    "conv.page_prev": "‹ Back",
    "conv.page_info": "Page {number} of {count}.",
    "conv.back_to_categories": "‹ Categories",
    "conv.welcome": "Hello! 👋 Welcome to *{store}*.",
    "conv.welcome_named": "Hello, {name}! 👋 Welcome to *{store}*.",
    "conv.choose_category": "Choose a category to see the menu.",
    "conv.menu_button": "See menu",
    "conv.menu_empty": "The menu of *{store}* is empty right now. Try again later.",
    "conv.store_closed": "*{store}* is closed now. 😴 Try again when the store opens.",
    "conv.store_closed_until": "*{store}* is closed now. 😴 We open again {when}.",
    "conv.opens_today": "today at {time}",
    "conv.opens_tomorrow": "tomorrow at {time}",
    "conv.opens_weekday": "{weekday} at {time}",
    "conv.opens_date": "{weekday}, {month:02d}/{day:02d}, at {time}",
    "weekday.0": "Monday",
    "weekday.1": "Tuesday",
    "weekday.2": "Wednesday",
    "weekday.3": "Thursday",
    "weekday.4": "Friday",
    "weekday.5": "Saturday",
    "weekday.6": "Sunday",
    "conv.expired": "Your previous cart expired after a while without messages, so we start over.",
    "conv.category_question": "*{category}*: choose an item.",
    "conv.items_button": "See items",
    "conv.category_missing": "That category has no available items right now.",
    "conv.item_missing": "That item is no longer on the menu.",
    "conv.item_unavailable": "*{item}* is unavailable right now. Choose another item.",
    "conv.option_pick_one": "*{item}* — {group}: choose one option.",
    "conv.option_pick_optional": "*{item}* — {group}: choose one option if you like.",
    "conv.option_pick_up_to": "*{item}* — {group}: choose up to {max} options, one at a time.",
    "conv.option_pick_exactly": "*{item}* — {group}: choose {max} options, one at a time.",
    "conv.option_pick_range": "*{item}* — {group}: choose {min} to {max} options, one at a time.",
    "conv.option_picked": "Chosen so far ({count}): {names}.",
    "conv.option_picked_more": "{names} and {count} more",
    "conv.option_button": "See options",
    "conv.option_done": "Done ✓",
    "conv.option_skip": "Skip",
    "conv.option_free": "no extra cost",
    "conv.option_price": "+ {price}",
    "conv.option_need_more": "Choose at least {min} of {group}.",
    "conv.option_unavailable": "That option is not available. Choose another one.",
    "conv.quantity_question": ("How many *{item}*? Tap a button or type a number from 1 to {max}."),
    "conv.quantity_details": "{item} — {price} each",
    "conv.quantity_invalid": "Invalid quantity. Send a number from 1 to {max}.",
    "conv.quantity_limit": "The cart takes at most {max} units of the same item.",
    "conv.cart_full": (
        "Your cart reached the limit of {max} different items. Check out or remove an item."
    ),
    "conv.added": "✅ Added: {line}\nCart subtotal: {subtotal}",
    "conv.added_question": "What would you like to do next?",
    "conv.button_cart": "View cart",
    "conv.button_more": "Add more",
    "conv.button_checkout": "Check out",
    "conv.button_remove": "Remove item",
    "conv.cart_title": "🛒 *Your cart*",
    "conv.cart_subtotal": "Subtotal: {amount}",
    "conv.cart_unavailable": "unavailable",
    "conv.cart_question": "Check out, add more items or remove one.",
    "conv.cart_empty": "Your cart is empty. 🛒",
    "conv.cart_dropped": "Some items left the menu and were taken out of your cart.",
    "conv.remove_question": "Which item do you want to remove?",
    "conv.remove_button": "Remove",
    "conv.remove_all": "Empty cart",
    "conv.removed": "Removed: {line}",
    "conv.emptied": "Done, your cart is empty now.",
    "conv.cancelled": "OK, I cancelled what was in progress.",
    "conv.cancelled_cart_kept": (
        "OK, I cancelled what was in progress. Your cart was kept "
        "({items}); send *empty* to clear it."
    ),
    "conv.item_count_one": "1 item",
    "conv.item_count_many": "{count} items",
    "conv.help": (
        "To order, tap an option in the lists and buttons or type its position "
        "(1 for the first, 2 for the second…). "
        "Words that work at any time: *menu*, *cart*, *checkout*, *cancel*, *empty* "
        "and *help*."
    ),
    "conv.not_understood": "Sorry, I did not understand. 🤔 Choose an option below or send *help*.",
    "conv.number_out_of_range": "There is no option {number}. Choose a number from 1 to {count}.",
    "conv.unsupported": (
        "Sorry, I understand only text messages, list and button choices "
        "and locations 📍. Send *menu* to see the menu."
    ),
    "conv.location_saved": (
        "📍 Location received. I will offer it as the address when you check out."
    ),
    "conv.checkout_empty": (
        "Your cart is empty, so there is no order to check out yet. Choose items from the menu."
    ),
    "conv.checkout_unavailable": (
        "These items are unavailable right now: {names}. Remove them to continue."
    ),
    "conv.below_minimum": (
        "The minimum order is {minimum}. Your subtotal is {subtotal}: {missing} missing. "
        "Add more items to check out."
    ),
    "conv.fulfilment_question": "How do you want to get your order? Delivery costs {fee}.",
    "conv.fulfilment_question_free": "How do you want to get your order? Delivery is free.",
    "conv.button_delivery": "Delivery",
    "conv.button_pickup": "Pick up at store",
    "conv.address_question": (
        "Send your location 📍 with the button below or type the full address "
        "(street, number and neighbourhood)."
    ),
    "conv.address_saved_question": (
        "Deliver to the last address you used?\n📍 {address}\n"
        "Tap the button, send another location or type another address."
    ),
    "conv.button_use_address": "Use this address",
    "conv.address_invalid": (
        "I could not use that address. Type the street, number and neighbourhood, "
        "or send your location 📍."
    ),
    "conv.address_pin": "shared location ({latitude}, {longitude})",
    "conv.delivery_to": "📍 Delivery to: {address}",
    "conv.payment_question": "How will you pay? Total: {total}.",
    "conv.button_cash": "Cash",
    "conv.button_card_delivery": "Card on delivery",
    "conv.button_card_pickup": "Card at pickup",
    "conv.button_pix": "PIX",
    "conv.change_question": (
        "Total: {total}. Do you need change? Type the amount you will pay with "
        "(for example {example}) or tap *No change*."
    ),
    "conv.change_amount_question": (
        "What amount will you pay with? Type it, for example {example}."
    ),
    "conv.button_no_change": "No change",
    "conv.change_too_low": (
        "{amount} is less than the total of {total}. Type an equal or larger amount, "
        "or tap *No change*."
    ),
    "conv.change_too_high": (
        "For this order we can bring change for at most {limit}. Type an amount up to {limit} "
        "or tap *No change*."
    ),
    "conv.change_invalid": (
        "I did not understand the amount. Type only the number, for example {example} "
        "or {example}.00, or tap *No change*."
    ),
    "conv.summary_title": "🧾 *Order summary*",
    "conv.summary_subtotal": "Subtotal: {amount}",
    "conv.summary_fee": "Delivery fee: {amount}",
    "conv.summary_total": "*Total: {amount}*",
    "conv.summary_pickup": "🛍️ Pickup at the store",
    "conv.summary_payment": "💳 Payment: {method}",
    "conv.summary_change": "💵 Payment: cash, change for {amount}",
    "conv.confirm_question": "Do you confirm the order?",
    "conv.prices_changed": (
        "Prices changed since the summary, so the order was not placed yet. "
        "Check the new summary and confirm again."
    ),
    "conv.button_confirm": "Confirm",
    "conv.button_cancel": "Cancel",
    "conv.order_placed": (
        "✅ Order *#{number}* received! Total: {total}.\n"
        "We will let you know here when the store accepts it. To order again, send *menu*."
    ),
    "conv.order_tracking": "📍 Track your order: {url}",
    "conv.pix_code_next": (
        "💠 Pay {total} with PIX copy and paste: copy the code in the next message "
        "and paste it in your bank's app."
    ),
    "conv.placement_closed": (
        "The store closed before we could confirm, so the order was not placed. "
        "Your cart was kept: send *checkout* when the store opens."
    ),
    "conv.placement_unavailable": (
        "An item in your cart became unavailable, so the order was not placed. "
        "Remove the unavailable item and check out again."
    ),
    "conv.placement_changed": (
        "The menu changed, so the order was not placed. Check your cart and check out again."
    ),
    "order_update.fee_confirmed": (
        "The delivery fee of your order #{number} is confirmed: {fee}. New total: {total}."
    ),
    "conv.fulfilment_question_zones": (
        "How do you want to get your order? The delivery fee depends on your address."
    ),
    "conv.zone_terms": "🛵 We deliver there: delivery fee {fee}, in about {minutes} min.",
    "conv.outside_area": (
        "😕 That address is outside our delivery area. Send another location 📍 "
        "with the button below or type *pickup* to pick up at the store."
    ),
    "conv.outside_area_saved": (
        "😕 That location is outside our delivery area, so I did not keep it. "
        "At checkout, send another location or choose pickup at the store."
    ),
    "conv.address_pin_required": (
        "The delivery fee depends on your location. Send your location 📍 with the button "
        "below or type *pickup* to pick up at the store."
    ),
    "conv.fee_to_confirm": (
        "The store will confirm the delivery fee for this address. Until then the fee shown "
        "is provisional."
    ),
    "conv.below_zone_minimum": (
        "The minimum order for delivery in {zone} is {minimum}. Your subtotal is {subtotal}: "
        "{missing} missing. Add more items or choose pickup."
    ),
    "conv.summary_fee_pending": "Delivery fee: {amount} (provisional, the store will confirm it)",
    "conv.summary_zone": "Delivery area: {zone} (minimum order {minimum})",
    "conv.summary_estimate": "🕒 Estimated delivery: about {minutes} min",
    "conv.placement_closed_until": (
        "The store closed before we could confirm, so the order was not placed. "
        "We open again {when}. Your cart was kept: send *checkout* when we open."
    ),
}
