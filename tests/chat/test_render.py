"""Rendering bot messages as numbered text, and mapping typed lines to customer messages."""

from __future__ import annotations

from typing import Any

import pytest

from zapora.chat.render import (
    Choice,
    InputError,
    Quit,
    SendMessage,
    ShowHelp,
    parse_line,
    render_message,
)

LIST_BODY: dict[str, Any] = {
    "messaging_product": "whatsapp",
    "to": "5511955551234",
    "type": "interactive",
    "interactive": {
        "type": "list",
        "header": {"type": "text", "text": "Cardápio"},
        "body": {"text": "Escolha uma pizza"},
        "footer": {"text": "Página 1 de 2"},
        "action": {
            "button": "Ver opções",
            "sections": [
                {
                    "title": "Pizzas",
                    "rows": [
                        {"id": "item:1", "title": "Mussarela", "description": "R$ 32,00"},
                        {"id": "item:2", "title": "Calabresa"},
                    ],
                },
                {
                    "title": "Mais",
                    "rows": [{"id": "page:2", "title": "Próxima página"}],
                },
            ],
        },
    },
}
BUTTON_BODY: dict[str, Any] = {
    "messaging_product": "whatsapp",
    "to": "5511955551234",
    "type": "interactive",
    "interactive": {
        "type": "button",
        "body": {"text": "Confirmar o pedido?"},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": "confirm", "title": "Confirmar"}},
                {"type": "reply", "reply": {"id": "cancel", "title": "Cancelar"}},
            ]
        },
    },
}


def test_render_text() -> None:
    rendered = render_message({"type": "text", "text": {"body": "Olá, Maria!\nTudo bem?"}})

    assert rendered.lines == ["Olá, Maria!", "Tudo bem?"]
    assert rendered.choices == []
    assert not rendered.requests_location


def test_render_list_numbers_rows_across_sections() -> None:
    rendered = render_message(LIST_BODY)

    assert rendered.lines == [
        "*Cardápio*",
        "Escolha uma pizza",
        "_Página 1 de 2_",
        "[Ver opções]",
        "  Pizzas",
        "    1. Mussarela",
        "       R$ 32,00",
        "    2. Calabresa",
        "  Mais",
        "    3. Próxima página",
    ]
    assert [choice.id for choice in rendered.choices] == ["item:1", "item:2", "page:2"]
    assert [choice.number for choice in rendered.choices] == [1, 2, 3]
    assert {choice.reply_type for choice in rendered.choices} == {"list_reply"}
    assert rendered.choices[0].description == "R$ 32,00"


def test_render_buttons_numbered() -> None:
    rendered = render_message(BUTTON_BODY)

    assert rendered.lines == ["Confirmar o pedido?", "  1. [Confirmar]", "  2. [Cancelar]"]
    assert rendered.choices == [
        Choice(1, "button_reply", "confirm", "Confirmar"),
        Choice(2, "button_reply", "cancel", "Cancelar"),
    ]


def test_render_location_request() -> None:
    rendered = render_message(
        {
            "type": "interactive",
            "interactive": {
                "type": "location_request_message",
                "body": {"text": "Envie sua localização"},
                "action": {"name": "send_location"},
            },
        }
    )

    assert rendered.requests_location
    assert rendered.lines[0] == "Envie sua localização"
    assert "/loc LAT LNG" in rendered.lines[1]
    assert rendered.choices == []


def test_render_template_parameters() -> None:
    rendered = render_message(
        {
            "type": "template",
            "template": {
                "name": "order_update",
                "language": {"code": "pt_BR"},
                "components": [
                    {
                        "type": "body",
                        "parameters": [
                            {"type": "text", "text": "#12"},
                            {"type": "text", "text": "saiu para entrega"},
                        ],
                    }
                ],
            },
        }
    )

    assert rendered.lines == [
        '[template "order_update" in pt_BR]',
        "  {{1}} #12",
        "  {{2}} saiu para entrega",
    ]


def test_render_image_with_caption() -> None:
    rendered = render_message(
        {"type": "image", "image": {"link": "https://img.example/qr.png", "caption": "PIX"}}
    )

    assert rendered.lines == ["[image] https://img.example/qr.png", "PIX"]


def test_render_unknown_type_shows_json() -> None:
    rendered = render_message({"type": "sticker_pack", "sticker_pack": {"id": "9"}})

    assert rendered.lines[0].startswith("[sticker_pack message] ")
    assert '"id": "9"' in rendered.lines[0]


def test_number_selects_list_row() -> None:
    choices = render_message(LIST_BODY).choices

    action = parse_line("2", choices, "wamid.list")

    assert action == SendMessage(
        {
            "type": "interactive",
            "interactive": {
                "type": "list_reply",
                "list_reply": {"id": "item:2", "title": "Calabresa"},
            },
            "context": {"id": "wamid.list"},
        }
    )


def test_number_keeps_row_description() -> None:
    choices = render_message(LIST_BODY).choices

    action = parse_line(" 1 ", choices, "wamid.list")

    assert isinstance(action, SendMessage)
    reply = action.message["interactive"]["list_reply"]
    assert reply == {"id": "item:1", "title": "Mussarela", "description": "R$ 32,00"}


def test_number_selects_button() -> None:
    choices = render_message(BUTTON_BODY).choices

    action = parse_line("1", choices, "wamid.buttons")

    assert action == SendMessage(
        {
            "type": "interactive",
            "interactive": {
                "type": "button_reply",
                "button_reply": {"id": "confirm", "title": "Confirmar"},
            },
            "context": {"id": "wamid.buttons"},
        }
    )


@pytest.mark.parametrize("line", ["4", "0", "2 pizzas", "oi"])
def test_other_input_is_text(line: str) -> None:
    choices = render_message(LIST_BODY).choices

    action = parse_line(line, choices, "wamid.list")

    assert action == SendMessage({"type": "text", "text": {"body": line}})


def test_number_without_choices_is_text() -> None:
    assert parse_line("2", [], "wamid.text") == SendMessage({"type": "text", "text": {"body": "2"}})


def test_location_with_address() -> None:
    action = parse_line("/loc -23.5614 -46.6559 Av. Paulista, 1000", [], None)

    assert action == SendMessage(
        {
            "type": "location",
            "location": {
                "latitude": -23.5614,
                "longitude": -46.6559,
                "address": "Av. Paulista, 1000",
            },
        }
    )


def test_location_without_address() -> None:
    action = parse_line("/loc -23.5 -46.6", [], None)

    assert action == SendMessage(
        {"type": "location", "location": {"latitude": -23.5, "longitude": -46.6}}
    )


@pytest.mark.parametrize(
    "line", ["/loc", "/loc -23.5", "/loc north south", "/loc 91 0", "/loc 0 181", "/loc nan 0"]
)
def test_invalid_location_is_rejected(line: str) -> None:
    assert isinstance(parse_line(line, [], None), InputError)


def test_commands() -> None:
    assert parse_line("/quit", [], None) == Quit()
    assert parse_line("/help", [], None) == ShowHelp()
    assert isinstance(parse_line("   ", [], None), InputError)
