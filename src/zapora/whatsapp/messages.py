"""Builders of Graph API message objects, without ``messaging_product`` and ``to``.

Every builder enforces WhatsApp Cloud API limits. Text meant for people (titles,
descriptions, labels, header, footer) is shortened with an ellipsis. Structural
violations (too many rows or buttons, ids too long or repeated, a body too long to
shorten safely) raise ``ValueError``, so callers page or split before building.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# NOTE: lengths are counted in Unicode code points. If Meta counts UTF-16 units instead,
# a text full of emoji could still be rejected at a length these checks accept.
TEXT_MAX = 4096
INTERACTIVE_BODY_MAX = 1024
HEADER_MAX = 60
FOOTER_MAX = 60
LIST_ROWS_MAX = 10
LIST_SECTIONS_MAX = 10
LIST_BUTTON_MAX = 20
ROW_TITLE_MAX = 24
ROW_DESCRIPTION_MAX = 72
ROW_ID_MAX = 200
SECTION_TITLE_MAX = 24
BUTTONS_MAX = 3
BUTTON_TITLE_MAX = 20
BUTTON_ID_MAX = 256
ELLIPSIS = "…"


@dataclass(frozen=True)
class ListRow:
    id: str
    title: str
    description: str | None = None


@dataclass(frozen=True)
class ListSection:
    title: str | None
    rows: Sequence[ListRow]


def truncate(text: str, limit: int) -> str:
    """Shorten ``text`` to at most ``limit`` characters, ending with an ellipsis when cut."""
    text = text.strip()
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + ELLIPSIS


def _require_text(text: str, limit: int, name: str) -> str:
    if not text.strip():
        raise ValueError(f"{name} is empty")
    if len(text) > limit:
        raise ValueError(f"{name} has {len(text)} characters; the maximum is {limit}")
    return text


def _require_id(value: str, limit: int, name: str) -> str:
    if not value:
        raise ValueError(f"{name} is empty")
    if len(value) > limit:
        raise ValueError(
            f"{name} {value[:20]!r}... has {len(value)} characters; the maximum is {limit}"
        )
    return value


def text_body(text: str) -> dict[str, Any]:
    """Build a plain text message; raise ValueError when empty or over 4,096 characters."""
    return {
        "type": "text",
        "text": {"body": _require_text(text, TEXT_MAX, "text body"), "preview_url": False},
    }


def _interactive(
    kind: str,
    body: str,
    action: dict[str, Any],
    header: str | None = None,
    footer: str | None = None,
) -> dict[str, Any]:
    interactive: dict[str, Any] = {"type": kind}
    if header and header.strip():
        interactive["header"] = {"type": "text", "text": truncate(header, HEADER_MAX)}
    interactive["body"] = {"text": _require_text(body, INTERACTIVE_BODY_MAX, "interactive body")}
    if footer and footer.strip():
        interactive["footer"] = {"text": truncate(footer, FOOTER_MAX)}
    interactive["action"] = action
    return {"type": "interactive", "interactive": interactive}


def _row_object(row: ListRow) -> dict[str, Any]:
    result = {
        "id": _require_id(row.id, ROW_ID_MAX, "row id"),
        "title": truncate(row.title, ROW_TITLE_MAX) or "-",
    }
    if row.description and row.description.strip():
        result["description"] = truncate(row.description, ROW_DESCRIPTION_MAX)
    return result


def _as_sections(rows: Sequence[ListRow] | Sequence[ListSection]) -> list[ListSection]:
    if all(isinstance(entry, ListRow) for entry in rows):
        return [ListSection(title=None, rows=[row for row in rows if isinstance(row, ListRow)])]
    if all(isinstance(entry, ListSection) for entry in rows):
        return [section for section in rows if isinstance(section, ListSection)]
    raise ValueError("pass either rows or sections, not a mix")


def list_body(
    body: str,
    button: str,
    rows: Sequence[ListRow] | Sequence[ListSection],
    header: str | None = None,
    footer: str | None = None,
) -> dict[str, Any]:
    """Build an interactive list from rows (one untitled section) or from sections.

    Raise ValueError for no rows, more than 10 rows or sections in all, repeated row
    ids, a section without rows, or several sections when one has no title.
    """
    sections = _as_sections(rows)
    if not sections or len(sections) > LIST_SECTIONS_MAX:
        raise ValueError(f"a list needs 1 to {LIST_SECTIONS_MAX} sections, got {len(sections)}")
    row_count = sum(len(section.rows) for section in sections)
    if not 1 <= row_count <= LIST_ROWS_MAX:
        raise ValueError(f"a list needs 1 to {LIST_ROWS_MAX} rows in all, got {row_count}")
    ids = [row.id for section in sections for row in section.rows]
    if len(set(ids)) != len(ids):
        raise ValueError("row ids in a list must be unique")
    section_objects = []
    for section in sections:
        if not section.rows:
            raise ValueError("a list section needs at least one row")
        section_object: dict[str, Any] = {"rows": [_row_object(row) for row in section.rows]}
        if section.title and section.title.strip():
            section_object["title"] = truncate(section.title, SECTION_TITLE_MAX)
        elif len(sections) > 1:
            raise ValueError("every section needs a title when a list has several")
        section_objects.append(section_object)
    action = {"button": truncate(button, LIST_BUTTON_MAX) or "-", "sections": section_objects}
    return _interactive("list", body, action, header, footer)


def buttons_body(
    body: str,
    buttons: Sequence[tuple[str, str]],
    header: str | None = None,
    footer: str | None = None,
) -> dict[str, Any]:
    """Build reply buttons from ``(id, title)`` pairs.

    Raise ValueError unless there are 1 to 3 buttons with distinct ids and distinct
    titles once shortened to 20 characters.
    """
    if not 1 <= len(buttons) <= BUTTONS_MAX:
        raise ValueError(f"reply buttons need 1 to {BUTTONS_MAX} buttons, got {len(buttons)}")
    titles = [truncate(title, BUTTON_TITLE_MAX) or "-" for _, title in buttons]
    objects = [
        {
            "type": "reply",
            "reply": {"id": _require_id(button_id, BUTTON_ID_MAX, "button id"), "title": title},
        }
        for (button_id, _), title in zip(buttons, titles, strict=True)
    ]
    if len(set(titles)) != len(titles):
        raise ValueError(f"button titles must be unique, got {titles}")
    if len({button_id for button_id, _ in buttons}) != len(buttons):
        raise ValueError("button ids must be unique")
    return _interactive("button", body, {"buttons": objects}, header, footer)


def buttons_fit(titles: Sequence[str]) -> bool:
    """Return whether these titles can be reply buttons: 1 to 3, distinct once shortened."""
    shortened = [truncate(title, BUTTON_TITLE_MAX) for title in titles]
    return 1 <= len(titles) <= BUTTONS_MAX and len(set(shortened)) == len(shortened)


def location_request_body(body: str) -> dict[str, Any]:
    """Build a message that requests a location pin from the customer."""
    return _interactive("location_request_message", body, {"name": "send_location"})


def split_text(text: str, limit: int = TEXT_MAX) -> list[str]:
    """Split ``text`` into chunks of at most ``limit`` characters, at line breaks if possible."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current.strip():
        chunks.append(current)
    return [chunk for chunk in chunks if chunk.strip()]
