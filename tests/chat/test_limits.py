"""The simulator rejects send requests the Cloud API would reject."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from zapora.chat.limits import (
    INVALID_PARAMETER,
    INVALID_PARAMETER_VALUE,
    GraphRequestError,
    validate_send_request,
)


def _list(rows_per_section: list[int]) -> dict[str, Any]:
    sections = [
        {
            "title": f"Section {index}",
            "rows": [{"id": f"row:{index}:{row}", "title": f"Row {row}"} for row in range(count)],
        }
        for index, count in enumerate(rows_per_section)
    ]
    return {
        "messaging_product": "whatsapp",
        "to": "5511955551234",
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": "Escolha"},
            "action": {"button": "Ver", "sections": sections},
        },
    }


def _buttons(titles: list[str]) -> dict[str, Any]:
    buttons = [
        {"type": "reply", "reply": {"id": f"button:{index}", "title": title}}
        for index, title in enumerate(titles)
    ]
    return {
        "messaging_product": "whatsapp",
        "to": "5511955551234",
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "Escolha"},
            "action": {"buttons": buttons},
        },
    }


def _code(body: Any) -> int:
    with pytest.raises(GraphRequestError) as caught:
        validate_send_request(body)
    return caught.value.code


def test_valid_messages_pass() -> None:
    validate_send_request(
        {"messaging_product": "whatsapp", "to": "55119", "type": "text", "text": {"body": "Oi"}}
    )
    validate_send_request(_list([6, 4]))
    validate_send_request(_buttons(["Sim", "Não", "Talvez"]))


def test_list_rows_counted_across_sections() -> None:
    assert _code(_list([6, 5])) == INVALID_PARAMETER_VALUE


def test_list_needs_section_titles_when_several() -> None:
    body = _list([2, 2])
    del body["interactive"]["action"]["sections"][1]["title"]

    assert _code(body) == INVALID_PARAMETER


def test_single_section_needs_no_title() -> None:
    body = _list([3])
    del body["interactive"]["action"]["sections"][0]["title"]

    validate_send_request(body)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "x" * 25),
        ("description", "x" * 73),
        ("id", "x" * 201),
    ],
)
def test_list_row_lengths(field: str, value: str) -> None:
    body = _list([2])
    body["interactive"]["action"]["sections"][0]["rows"][0][field] = value

    assert _code(body) == INVALID_PARAMETER_VALUE


def test_list_row_ids_unique() -> None:
    body = _list([2])
    rows = body["interactive"]["action"]["sections"][0]["rows"]
    rows[1]["id"] = rows[0]["id"]

    assert _code(body) == INVALID_PARAMETER_VALUE


def test_list_button_label_length() -> None:
    body = _list([2])
    body["interactive"]["action"]["button"] = "x" * 21

    assert _code(body) == INVALID_PARAMETER_VALUE


def test_button_count_and_titles() -> None:
    assert _code(_buttons([])) == INVALID_PARAMETER_VALUE
    assert _code(_buttons(["a", "b", "c", "d"])) == INVALID_PARAMETER_VALUE
    assert _code(_buttons(["x" * 21])) == INVALID_PARAMETER_VALUE
    assert _code(_buttons(["Sim", "Sim"])) == INVALID_PARAMETER_VALUE


def test_text_body_limit() -> None:
    body = {"messaging_product": "whatsapp", "to": "5511", "type": "text"}

    validate_send_request({**body, "text": {"body": "x" * 4096}})
    assert _code({**body, "text": {"body": "x" * 4097}}) == INVALID_PARAMETER_VALUE
    assert _code({**body, "text": {"body": ""}}) == INVALID_PARAMETER


def test_header_and_footer_limits() -> None:
    with_header = copy.deepcopy(_list([1]))
    with_header["interactive"]["header"] = {"type": "text", "text": "x" * 61}
    with_footer = copy.deepcopy(_list([1]))
    with_footer["interactive"]["footer"] = {"text": "x" * 61}

    assert _code(with_header) == INVALID_PARAMETER_VALUE
    assert _code(with_footer) == INVALID_PARAMETER_VALUE


def test_envelope_fields_required() -> None:
    assert _code([]) == INVALID_PARAMETER
    assert _code({"to": "5511", "text": {"body": "Oi"}}) == INVALID_PARAMETER
    assert _code({"messaging_product": "whatsapp", "text": {"body": "Oi"}}) == INVALID_PARAMETER


def test_location_request_action_name() -> None:
    body = {
        "messaging_product": "whatsapp",
        "to": "5511",
        "type": "interactive",
        "interactive": {
            "type": "location_request_message",
            "body": {"text": "Onde?"},
            "action": {"name": "share"},
        },
    }

    assert _code(body) == INVALID_PARAMETER_VALUE
