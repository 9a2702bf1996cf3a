"""Message builders' limits, text parsing, and the bot's text catalogs."""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from zapora.config import Settings
from zapora.customers.models import Customer
from zapora.orders.models import Order
from zapora.orders.notifications import status_text_key
from zapora.stores.models import Store
from zapora.whatsapp import texts
from zapora.whatsapp.conversation.parsing import (
    AMOUNT_MAX_DIGITS,
    AmountTooLargeError,
    clean_address,
    normalize,
    parse_amount,
    parse_quantity,
)
from zapora.whatsapp.conversation.state import ConversationState
from zapora.whatsapp.conversation.turn import Turn
from zapora.whatsapp.messages import (
    ListRow,
    ListSection,
    buttons_body,
    list_body,
    location_request_body,
    split_text,
    text_body,
)

CONVERSATION_SOURCE = Path(texts.__file__).parent.parent / "conversation"


def _rows(count: int) -> list[ListRow]:
    return [ListRow(f"row:{number}", f"Row {number}") for number in range(count)]


def test_text_body_shape() -> None:
    assert text_body("Olá") == {"type": "text", "text": {"body": "Olá", "preview_url": False}}


def test_text_body_limit() -> None:
    assert text_body("x" * 4096)["text"]["body"] == "x" * 4096
    with pytest.raises(ValueError, match="4096"):
        text_body("x" * 4097)
    with pytest.raises(ValueError, match="empty"):
        text_body("  ")


def test_list_body_shortens_text() -> None:
    row = ListRow("a", "T" * 30, "D" * 80)
    body = list_body("Escolha", "B" * 25, [row], header="H" * 70, footer="F" * 70)
    interactive = body["interactive"]
    assert interactive["type"] == "list"
    assert interactive["header"] == {"type": "text", "text": "H" * 59 + "…"}
    assert interactive["footer"] == {"text": "F" * 59 + "…"}
    assert interactive["action"]["button"] == "B" * 19 + "…"
    built = interactive["action"]["sections"][0]["rows"][0]
    assert built == {"id": "a", "title": "T" * 23 + "…", "description": "D" * 71 + "…"}
    assert "title" not in interactive["action"]["sections"][0]


def test_list_body_structure_errors() -> None:
    assert len(list_body("b", "x", _rows(10))["interactive"]["action"]["sections"][0]["rows"]) == 10
    with pytest.raises(ValueError, match="10 rows"):
        list_body("b", "x", _rows(11))
    with pytest.raises(ValueError, match="rows"):
        list_body("b", "x", [])
    with pytest.raises(ValueError, match="unique"):
        list_body("b", "x", [ListRow("same", "A"), ListRow("same", "B")])
    with pytest.raises(ValueError, match="row id"):
        list_body("b", "x", [ListRow("i" * 201, "A")])
    second = [ListRow(f"other:{number}", "B") for number in range(5)]
    with pytest.raises(ValueError, match="10 rows"):
        list_body("b", "x", [ListSection("Um", _rows(6)), ListSection("Dois", second)])
    untitled = [ListSection(None, _rows(1)), ListSection("Dois", second[:1])]
    with pytest.raises(ValueError, match="title"):
        list_body("b", "x", untitled)
    with pytest.raises(ValueError, match="mix"):
        list_body("b", "x", [ListRow("a", "A"), ListSection("Dois", second[:1])])
    with pytest.raises(ValueError, match="1024"):
        list_body("b" * 1025, "x", _rows(1))


def test_list_body_sections() -> None:
    sections = [
        ListSection("Pizzas salgadas e doces", [ListRow("a", "A")]),
        ListSection("Bebidas", [ListRow("b", "B")]),
    ]
    built = list_body("b", "x", sections)["interactive"]["action"]["sections"]
    assert [section["title"] for section in built] == ["Pizzas salgadas e doces", "Bebidas"]


def test_buttons_body() -> None:
    body = buttons_body("Confirma?", [("yes", "Confirmar"), ("no", "Cancelar")])
    buttons = body["interactive"]["action"]["buttons"]
    assert buttons == [
        {"type": "reply", "reply": {"id": "yes", "title": "Confirmar"}},
        {"type": "reply", "reply": {"id": "no", "title": "Cancelar"}},
    ]
    long = buttons_body("b", [("a", "A" * 25)])["interactive"]["action"]["buttons"]
    assert long[0]["reply"]["title"] == "A" * 19 + "…"


def test_buttons_body_errors() -> None:
    with pytest.raises(ValueError, match="1 to 3"):
        buttons_body("b", [("1", "a"), ("2", "b"), ("3", "c"), ("4", "d")])
    with pytest.raises(ValueError, match="1 to 3"):
        buttons_body("b", [])
    with pytest.raises(ValueError, match="titles must be unique"):
        buttons_body("b", [("1", "X" * 21 + "1"), ("2", "X" * 21 + "2")])
    with pytest.raises(ValueError, match="ids must be unique"):
        buttons_body("b", [("1", "a"), ("1", "b")])
    with pytest.raises(ValueError, match="button id"):
        buttons_body("b", [("i" * 257, "a")])
    with pytest.raises(ValueError, match="1024"):
        buttons_body("b" * 1025, [("1", "a")])


def test_location_request_body() -> None:
    assert location_request_body("Envie") == {
        "type": "interactive",
        "interactive": {
            "type": "location_request_message",
            "body": {"text": "Envie"},
            "action": {"name": "send_location"},
        },
    }


def test_split_text_keeps_lines() -> None:
    text = "\n".join(f"linha {number:04d}" for number in range(1000))
    chunks = split_text(text, 100)
    assert all(len(chunk) <= 100 for chunk in chunks)
    assert "\n".join(chunks) == text
    assert split_text("a" * 250, 100) == ["a" * 100, "a" * 100, "a" * 50]


@pytest.mark.parametrize(
    ("typed", "cents"),
    [
        ("50", 5000),
        ("50,00", 5000),
        ("50,5", 5050),
        ("R$ 100", 10000),
        ("R$100,90", 10090),
        ("1.000", 100000),
        ("R$ 1.250,75", 125075),
        ("50.25", 5025),
        ("troco para 200 reais", 20000),
        ("50000000", 5_000_000_000),
        ("9" * AMOUNT_MAX_DIGITS, (10**AMOUNT_MAX_DIGITS - 1) * 100),
        ("nada", None),
        ("50 ou 100", None),
        ("", None),
    ],
)
def test_parse_amount(typed: str, cents: int | None) -> None:
    assert parse_amount(typed) == cents


@pytest.mark.parametrize(
    "typed", ["1" * (AMOUNT_MAX_DIGITS + 1), "9" * 5000, "R$ 1" + ".000" * 5, "troco " + "5" * 20]
)
def test_parse_amount_too_long(typed: str) -> None:
    with pytest.raises(AmountTooLargeError):
        parse_amount(typed)


@pytest.mark.parametrize(
    ("typed", "quantity"),
    [("1", 1), ("99", 99), ("3x", 3), ("x 2", 2), ("0", None), ("100", None), ("dois", None)],
)
def test_parse_quantity(typed: str, quantity: int | None) -> None:
    assert parse_quantity(normalize(typed)) == quantity


def test_normalize() -> None:
    assert normalize("  Cardápio!! ") == "cardapio"
    assert normalize("NÃO   preciso") == "nao preciso"
    assert normalize("Olá") == "ola"
    assert normalize(None) == ""


def test_clean_address() -> None:
    assert clean_address("  Rua das Flores,   123 ") == "Rua das Flores, 123"
    assert clean_address("abc") is None
    assert clean_address("12345678 9") is None
    assert clean_address("Ruadasflores") is None
    assert clean_address("Rua " + "x" * 600) == ("Rua " + "x" * 600)[:500]


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_catalogs_have_same_keys() -> None:
    portuguese = texts.CATALOGS["pt-BR"]
    english = texts.CATALOGS["en"]
    assert set(portuguese) == set(english)
    for key in portuguese:
        assert _fields(portuguese[key]) == _fields(english[key]), key


def test_keys_used_in_code_exist() -> None:
    used: set[str] = set()
    for path in CONVERSATION_SOURCE.glob("*.py"):
        used |= set(re.findall(r"[\"'](conv\.[a-z_]+)[\"']", path.read_text(encoding="utf-8")))
    assert len(used) > 50
    assert used - set(texts.CATALOGS["pt-BR"]) == set()
    unused = {key for key in texts.CATALOGS["pt-BR"] if key.startswith("conv.")} - used
    assert unused == set()


@pytest.mark.parametrize(
    ("language", "fulfilment", "expected"),
    [
        ("pt-BR", "delivery", "Seu pedido #7 está pronto e logo sai para entrega."),
        ("pt-BR", "pickup", "Seu pedido #7 está pronto para retirada."),
        ("en", "delivery", "Your order #7 is ready and will leave for delivery soon."),
        ("en", "pickup", "Your order #7 is ready for pickup."),
    ],
)
def test_ready_text_names_next_step(language: str, fulfilment: str, expected: str) -> None:
    order = Order(status="ready", fulfilment=fulfilment)
    assert texts.text(language, status_text_key(order), number=7).startswith(expected)


def test_typed_positions_explained() -> None:
    for language in texts.CATALOGS:
        footer = texts.text(language, "conv.list_footer")
        assert len(footer) <= 60
        assert "1, 2, 3…" in footer
    assert "digite a posição dela" in texts.text("pt-BR", "conv.help")
    assert "number" not in texts.text("en", "conv.help")


def test_overlong_question_is_cut() -> None:
    store = Store(name="Loja", language="pt-BR", currency="BRL")
    turn = Turn(
        session=cast(AsyncSession, None),
        settings=Settings(),
        store=store,
        customer=Customer(wa_id="5511955551234"),
        state=ConversationState(),
    )
    turn.note("n" * 300)
    turn.ask_buttons("p" * 2000, [("a", "A")])
    note, question = turn.finish()
    assert note == text_body("n" * 300)
    body = question["interactive"]["body"]["text"]
    assert body == "p" * 1023 + "…"
    assert [button["reply"]["id"] for button in question["interactive"]["action"]["buttons"]] == [
        "a"
    ]
