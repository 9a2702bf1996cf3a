"""The checks the WhatsApp Cloud API applies to a send request, so the simulator rejects alike.

Sources: Meta's "Interactive list messages" page (up to 10 sections and 10 rows across
them) and the reply button object of Meta's WhatsApp Node.js SDK reference (titles up to
20 characters and ids up to 256, both unique), read in 2026. The other lengths are the
Cloud API's published message limits; Meta changes them from time to time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

TEXT_BODY_MAX = 4096
INTERACTIVE_BODY_MAX = 1024
HEADER_MAX = 60
FOOTER_MAX = 60
BUTTONS_MAX = 3
BUTTON_TITLE_MAX = 20
BUTTON_ID_MAX = 256
LIST_BUTTON_MAX = 20
SECTIONS_MAX = 10
ROWS_MAX = 10
SECTION_TITLE_MAX = 24
ROW_TITLE_MAX = 24
ROW_DESCRIPTION_MAX = 72
ROW_ID_MAX = 200


class GraphRequestError(ValueError):
    """A send request the Cloud API would reject; ``code`` is the Graph error code."""

    def __init__(self, code: int, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


INVALID_PARAMETER = 100
INVALID_PARAMETER_VALUE = 131009


def validate_send_request(body: Any) -> None:
    """Raise ``GraphRequestError`` when the body breaks a rule of the Cloud API."""
    if not isinstance(body, Mapping):
        raise GraphRequestError(INVALID_PARAMETER, "the request body must be a JSON object")
    if body.get("messaging_product") != "whatsapp":
        raise GraphRequestError(INVALID_PARAMETER, "messaging_product must be 'whatsapp'")
    if not isinstance(body.get("to"), str) or not body["to"]:
        raise GraphRequestError(INVALID_PARAMETER, "the parameter 'to' is required")
    message_type = body.get("type", "text")
    if message_type == "text":
        _check_text(body.get("text"))
    elif message_type == "interactive":
        _check_interactive(_object(body.get("interactive"), "interactive"))


def _object(value: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise GraphRequestError(INVALID_PARAMETER, f"the parameter '{name}' must be an object")
    return value


def _string(value: Any, name: str, maximum: int, *, required: bool = True) -> None:
    if value is None and not required:
        return
    if not isinstance(value, str) or (required and not value):
        raise GraphRequestError(INVALID_PARAMETER, f"'{name}' must be a non-empty string")
    if len(value) > maximum:
        raise GraphRequestError(
            INVALID_PARAMETER_VALUE,
            f"'{name}' is {len(value)} characters long; the maximum is {maximum}",
        )


def _check_text(text: Any) -> None:
    _string(_object(text, "text").get("body"), "text.body", TEXT_BODY_MAX)


def _check_interactive(interactive: Mapping[str, Any]) -> None:
    body = interactive.get("body")
    if body is not None:
        _string(_object(body, "interactive.body").get("text"), "body.text", INTERACTIVE_BODY_MAX)
    header = interactive.get("header")
    if header is not None and _object(header, "interactive.header").get("type") == "text":
        _string(header.get("text"), "header.text", HEADER_MAX)
    footer = interactive.get("footer")
    if footer is not None:
        _string(_object(footer, "interactive.footer").get("text"), "footer.text", FOOTER_MAX)
    kind = interactive.get("type")
    action = _object(interactive.get("action"), "interactive.action")
    if kind in ("button", "list") and body is None:
        raise GraphRequestError(INVALID_PARAMETER, f"an interactive {kind} needs a body")
    if kind == "button":
        _check_buttons(action.get("buttons"))
    elif kind == "list":
        _check_list(action)
    elif kind == "location_request_message" and action.get("name") != "send_location":
        raise GraphRequestError(
            INVALID_PARAMETER_VALUE, "a location request's action name must be send_location"
        )


def _check_buttons(buttons: Any) -> None:
    if not isinstance(buttons, Sequence) or not 1 <= len(buttons) <= BUTTONS_MAX:
        raise GraphRequestError(
            INVALID_PARAMETER_VALUE, f"a button message needs 1 to {BUTTONS_MAX} buttons"
        )
    titles: list[str] = []
    ids: list[str] = []
    for index, button in enumerate(buttons):
        reply = _object(_object(button, f"buttons[{index}]").get("reply"), f"buttons[{index}]")
        _string(reply.get("title"), f"buttons[{index}].reply.title", BUTTON_TITLE_MAX)
        _string(reply.get("id"), f"buttons[{index}].reply.id", BUTTON_ID_MAX)
        titles.append(reply["title"])
        ids.append(reply["id"])
    _unique(titles, "button titles")
    _unique(ids, "button ids")


def _check_list(action: Mapping[str, Any]) -> None:
    _string(action.get("button"), "action.button", LIST_BUTTON_MAX)
    sections = action.get("sections")
    if not isinstance(sections, Sequence) or not 1 <= len(sections) <= SECTIONS_MAX:
        raise GraphRequestError(
            INVALID_PARAMETER_VALUE, f"a list needs 1 to {SECTIONS_MAX} sections"
        )
    row_ids: list[str] = []
    for index, section in enumerate(sections):
        section = _object(section, f"sections[{index}]")
        _string(
            section.get("title"),
            f"sections[{index}].title",
            SECTION_TITLE_MAX,
            required=len(sections) > 1,
        )
        rows = section.get("rows")
        if not isinstance(rows, Sequence) or not rows:
            raise GraphRequestError(INVALID_PARAMETER_VALUE, f"sections[{index}] has no rows")
        for row_index, row in enumerate(rows):
            name = f"sections[{index}].rows[{row_index}]"
            row = _object(row, name)
            _string(row.get("title"), f"{name}.title", ROW_TITLE_MAX)
            _string(row.get("id"), f"{name}.id", ROW_ID_MAX)
            _string(
                row.get("description"), f"{name}.description", ROW_DESCRIPTION_MAX, required=False
            )
            row_ids.append(row["id"])
    if len(row_ids) > ROWS_MAX:
        raise GraphRequestError(
            INVALID_PARAMETER_VALUE,
            f"a list has {len(row_ids)} rows; the maximum is {ROWS_MAX} across all sections",
        )
    _unique(row_ids, "row ids")


def _unique(values: Sequence[str], name: str) -> None:
    duplicates = sorted({value for value in values if values.count(value) > 1})
    if duplicates:
        raise GraphRequestError(
            INVALID_PARAMETER_VALUE, f"{name} must be unique; repeated: {', '.join(duplicates)}"
        )
