"""Reading a message against the current step and running that step's handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from zapora.whatsapp.conversation import cart_steps, checkout, menu_views, options, payment
from zapora.whatsapp.conversation.parsing import Command, command_for, normalize, parse_number
from zapora.whatsapp.conversation.state import CHECKOUT_STEPS, Step
from zapora.whatsapp.conversation.turn import Answer, Turn
from zapora.whatsapp.events import IncomingMessage

Render = Callable[[Turn], Awaitable[None]]
Handler = Callable[[Turn, Answer], Awaitable[bool]]

TEXT_TYPES = frozenset({"text"})
REPLY_TYPES = frozenset({"interactive", "button"})


async def _welcome_again(turn: Turn, answer: Answer) -> bool:
    await menu_views.show_welcome(turn)
    return True


@dataclass(frozen=True)
class StepSpec:
    """How a step asks its question again and reads the answer.

    ``handle`` returns False when the answer means nothing at this step. With
    ``numbers_are_values`` a typed number is a value (a quantity, an amount of money)
    rather than the position of an offered choice.
    """

    render: Render
    handle: Handler
    numbers_are_values: bool = False


STEPS: dict[Step, StepSpec] = {
    Step.IDLE: StepSpec(menu_views.show_welcome, _welcome_again),
    Step.MENU: StepSpec(menu_views.show_menu, menu_views.handle_menu),
    Step.CATEGORY: StepSpec(menu_views.show_category, menu_views.handle_category),
    Step.OPTIONS: StepSpec(options.render_options, options.handle_options),
    Step.QUANTITY: StepSpec(
        options.render_quantity, options.handle_quantity, numbers_are_values=True
    ),
    Step.ADDED: StepSpec(cart_steps.ask_next_action, cart_steps.handle_no_free_text),
    Step.CART: StepSpec(cart_steps.show_cart, cart_steps.handle_no_free_text),
    Step.REMOVE: StepSpec(cart_steps.show_remove, cart_steps.handle_remove),
    Step.FULFILMENT: StepSpec(checkout.ask_fulfilment, checkout.handle_fulfilment),
    Step.ADDRESS: StepSpec(checkout.ask_address, checkout.handle_address),
    Step.PAYMENT: StepSpec(payment.ask_payment, payment.handle_payment),
    Step.CHANGE: StepSpec(payment.ask_change, payment.handle_change, numbers_are_values=True),
    Step.CONFIRM: StepSpec(payment.show_summary, payment.handle_confirm),
}


async def _help(turn: Turn) -> None:
    turn.note(turn.t("conv.help"))
    await STEPS[turn.state.step].render(turn)


COMMANDS: dict[Command, Render] = {
    Command.MENU: menu_views.show_welcome,
    Command.CART: cart_steps.show_cart,
    Command.CANCEL: cart_steps.cancel_draft,
    Command.HELP: _help,
    Command.CHECKOUT: checkout.start_checkout,
    Command.EMPTY_CART: cart_steps.empty_cart,
}

# Buttons that do the same at every step, so a tap on an older message still works.
ACTIONS: dict[str, Render] = {
    menu_views.ACTION_MENU: menu_views.show_menu,
    cart_steps.ACTION_MORE: menu_views.show_menu,
    cart_steps.ACTION_CART: cart_steps.show_cart,
    cart_steps.ACTION_CHECKOUT: checkout.start_checkout,
    cart_steps.ACTION_REMOVE: cart_steps.show_remove,
    cart_steps.ACTION_EMPTY: cart_steps.empty_cart,
}


async def _run_global_choice(turn: Turn, choice: str) -> bool:
    """Run a menu, item or action choice, valid whatever the current step is."""
    if choice in ACTIONS:
        await ACTIONS[choice](turn)
        return True
    if choice.startswith(menu_views.CATEGORY_PREFIX):
        await menu_views.open_category(turn, choice.removeprefix(menu_views.CATEGORY_PREFIX))
        return True
    if choice.startswith(menu_views.ITEM_PREFIX):
        await options.start_item(turn, choice.removeprefix(menu_views.ITEM_PREFIX))
        return True
    return False


def read_answer(turn: Turn, message: IncomingMessage, spec: StepSpec) -> Answer:
    """Map a tap, a typed number or a typed title to one of the choices offered last."""
    if message.type in REPLY_TYPES:
        return Answer(choice=message.reply_id, text="", raw_text=None)
    text = normalize(message.text)
    choices = turn.state.choices
    number = parse_number(text)
    if number is not None and not spec.numbers_are_values and 1 <= number <= len(choices):
        return Answer(choice=choices[number - 1].id, text=text, raw_text=message.text)
    by_title = next((choice for choice in choices if normalize(choice.title) == text), None)
    choice = by_title.id if by_title and text else None
    return Answer(choice=choice, text=text, raw_text=message.text)


async def _handle_location(turn: Turn, message: IncomingMessage) -> None:
    if turn.state.step in CHECKOUT_STEPS:
        await checkout.use_location(turn, message)
        return
    await checkout.save_location(turn, message)
    await STEPS[turn.state.step].render(turn)


def _kind(message: IncomingMessage) -> str:
    if message.type in TEXT_TYPES and message.text and message.text.strip():
        return "text"
    if message.type in REPLY_TYPES and message.reply_id:
        return "reply"
    if message.type == "location" and None not in (message.latitude, message.longitude):
        return "location"
    return "other"


async def run(turn: Turn, message: IncomingMessage, *, fresh: bool) -> None:
    """Handle one message. A new conversation always starts with the welcome."""
    kind = _kind(message)
    if kind == "other":
        turn.note(turn.t("conv.unsupported"))
        if fresh:
            await menu_views.show_welcome(turn)
        return
    if fresh:
        if kind == "location":
            await checkout.save_location(turn, message)
        await menu_views.show_welcome(turn)
        return
    if kind == "location":
        await _handle_location(turn, message)
        return
    await _answer(turn, message)


async def _answer(turn: Turn, message: IncomingMessage) -> None:
    spec = STEPS[turn.state.step]
    answer = read_answer(turn, message, spec)
    command = command_for(answer.text)
    if command is not None and answer.choice is None:
        await COMMANDS[command](turn)
        return
    if answer.choice and await _run_global_choice(turn, answer.choice):
        return
    if answer.choice and answer.choice not in turn.state.choice_ids():
        # A tap on an older message whose question no longer applies.
        answer = Answer(choice=None, text="", raw_text=None)
    if await spec.handle(turn, answer):
        return
    number = parse_number(answer.text)
    if number is not None and turn.state.choices:
        count = len(turn.state.choices)
        turn.note(turn.t("conv.number_out_of_range", number=number, count=count))
    else:
        turn.note(turn.t("conv.not_understood"))
    await spec.render(turn)
