"""Change for cash: the amounts accepted, the example shown, and what is wrong with an amount.

Amounts are in minor units. Typed amounts are read with two decimal places, so the
example is whole currency units of 100 minor units each.
"""

from __future__ import annotations

from zapora.whatsapp.conversation.turn import Turn

# orders.change_for is a 32-bit INTEGER column, so accepted amounts stay far below 2**31 - 1.
MAX_CHANGE_FOR = 100_000_000
# The cash paid may be up to this many times the total, and at least CHANGE_LIMIT_FLOOR so
# that a small order can still be paid with a large note.
CHANGE_TOTAL_FACTOR = 100
CHANGE_LIMIT_FLOOR = 100_000
# The example amount is the total rounded up to the next multiple of this step.
EXAMPLE_STEP = 1_000


def change_limit(total: int) -> int:
    """Return the largest amount accepted as the cash the customer pays with."""
    return min(MAX_CHANGE_FOR, max(total * CHANGE_TOTAL_FACTOR, CHANGE_LIMIT_FLOOR))


def change_example(total: int) -> str:
    """Return a round amount above the total, in whole units, as a customer would type it."""
    return str((total // EXAMPLE_STEP + 1) * EXAMPLE_STEP // 100)


def change_problem(turn: Turn, amount: int, total: int) -> str | None:
    """Return why ``amount`` cannot be the cash paid for ``total``, or None when it can."""
    if amount < total:
        return turn.t("conv.change_too_low", amount=turn.money(amount), total=turn.money(total))
    if amount > change_limit(total):
        return turn.t("conv.change_too_high", limit=turn.money(change_limit(total)))
    return None
