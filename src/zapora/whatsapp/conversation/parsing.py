"""Reading typed text: normalised words, numbers, money amounts and addresses."""

from __future__ import annotations

import re
import unicodedata
from enum import Enum

MAX_QUANTITY = 99
ADDRESS_MIN_LENGTH = 8
ADDRESS_MAX_LENGTH = 500
# Digits of the whole part of a typed amount. Twelve digits are far beyond any cash amount,
# and longer runs are rejected before int() so that no text can reach its 4300-digit limit.
AMOUNT_MAX_DIGITS = 12


class AmountTooLargeError(ValueError):
    """A typed amount has more than ``AMOUNT_MAX_DIGITS`` digits in its whole part."""


class Command(Enum):
    """A word typed at any step that jumps somewhere regardless of the current question."""

    MENU = "menu"
    CART = "cart"
    CANCEL = "cancel"
    HELP = "help"
    CHECKOUT = "checkout"
    EMPTY_CART = "empty_cart"


# Keys are normalised: lower case, no accents, single spaces, no edge punctuation.
COMMAND_WORDS: dict[str, Command] = {
    **dict.fromkeys(
        (
            "oi", "ola", "opa", "bom dia", "boa tarde", "boa noite", "menu", "cardapio",
            "inicio", "comecar", "hi", "hello", "hey", "start",
        ),
        Command.MENU,
    ),
    **dict.fromkeys(
        ("carrinho", "ver carrinho", "meu carrinho", "cart", "view cart", "my cart"),
        Command.CART,
    ),
    **dict.fromkeys(("cancelar", "cancela", "cancel"), Command.CANCEL),
    **dict.fromkeys(("ajuda", "help"), Command.HELP),
    **dict.fromkeys(
        ("finalizar", "finalizar pedido", "fechar pedido", "checkout", "check out"),
        Command.CHECKOUT,
    ),
    **dict.fromkeys(
        (
            "esvaziar", "esvaziar carrinho", "limpar carrinho", "empty cart", "clear cart",
            "empty",
        ),
        Command.EMPTY_CART,
    ),
}  # fmt: skip

NEXT_WORDS = frozenset({"mais", "mais itens", "proxima", "proximo", "more", "more items", "next"})
BACK_WORDS = frozenset({"voltar", "anterior", "back", "previous"})
DONE_WORDS = frozenset({"pronto", "concluir", "pular", "nenhum", "done", "skip", "none"})
YES_WORDS = frozenset({"sim", "s", "confirmar", "confirmo", "yes", "y", "confirm"})
NO_WORDS = frozenset(
    {"nao", "n", "nao preciso", "sem troco", "nao obrigado", "no", "no change", "nope"}
)

_EDGE_PUNCTUATION = " \t\n.,;:!?¡¿\"'*_~()[]"
_AMOUNT = re.compile(r"(?<![\d.,])(\d{1,3}(?:\.\d{3})+|\d+)(?:([.,])(\d{1,2}))?(?![\d.,])")


def normalize(text: str | None) -> str:
    """Lower-case ``text``, drop accents and edge punctuation, collapse whitespace."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(plain.casefold().split()).strip(_EDGE_PUNCTUATION)


def command_for(normalized: str) -> Command | None:
    return COMMAND_WORDS.get(normalized)


def parse_number(normalized: str) -> int | None:
    """Return the whole number typed alone (``"2"``, ``"#2"``), or None."""
    match = re.fullmatch(r"#?\s*(\d{1,6})", normalized)
    return int(match.group(1)) if match else None


def parse_quantity(normalized: str) -> int | None:
    """Return a quantity from 1 to 99 typed as ``"3"`` or ``"3x"``, or None."""
    match = re.fullmatch(r"(\d{1,6})\s*x?|x\s*(\d{1,6})", normalized)
    if not match:
        return None
    quantity = int(match.group(1) or match.group(2))
    return quantity if 1 <= quantity <= MAX_QUANTITY else None


def parse_amount(text: str | None) -> int | None:
    """Return a typed money amount in cents: ``"50"``, ``"50,00"``, ``"R$ 1.000"``, ``"50.5"``.

    A comma is a decimal separator; a dot followed by exactly three digits groups
    thousands, any other dot is a decimal separator. Text with more than one
    number is ambiguous and gives None. Raise AmountTooLargeError when the whole part has
    more than ``AMOUNT_MAX_DIGITS`` digits.
    """
    if not text:
        return None
    matches = list(_AMOUNT.finditer(text))
    if len(matches) != 1:
        return None
    whole_text, _separator, fraction_text = matches[0].groups()
    digits = whole_text.replace(".", "")
    if len(digits) > AMOUNT_MAX_DIGITS:
        raise AmountTooLargeError(f"the amount has {len(digits)} digits")
    whole = int(digits)
    fraction = int(fraction_text.ljust(2, "0")) if fraction_text else 0
    return whole * 100 + fraction


def clean_address(text: str | None) -> str | None:
    """Return a typed address fit for delivery, or None when it is too short to use.

    An address needs at least 8 characters, two words and three letters. Anything
    longer than 500 characters is cut, because that is the stored column's size.
    """
    if not text:
        return None
    address = " ".join(text.split())
    letters = sum(char.isalpha() for char in address)
    if len(address) < ADDRESS_MIN_LENGTH or len(address.split()) < 2 or letters < 3:
        return None
    return address[:ADDRESS_MAX_LENGTH]
