"""Pydantic validators shared by the request bodies that take free text."""

from __future__ import annotations

import unicodedata

from pydantic import AfterValidator


def reject_control_characters(value: str) -> str:
    """Raise ValueError on a control character other than a line break or a tab."""
    # PostgreSQL rejects NUL in text, and no free text needs a control character other
    # than the line breaks and tabs people type.
    if any(ord(char) < 32 and char not in "\n\r\t" for char in value):
        raise ValueError("control characters are not allowed")
    return value


def reject_line_control_characters(value: str) -> str:
    """Raise ValueError on any control character, line breaks and tabs included."""
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise ValueError("control characters, line breaks and tabs are not allowed")
    return value


def reject_format_characters(value: str) -> str:
    """Raise ValueError on an invisible format character (Unicode category Cf).

    Bidirectional overrides and zero-width characters make a name display differently
    from what it contains, so two names can look the same and differ.
    """
    if any(unicodedata.category(char) == "Cf" for char in value):
        raise ValueError(
            "invisible format characters, such as bidirectional marks, are not allowed"
        )
    return value


def reject_blank(value: str) -> str:
    """Return ``value`` without surrounding whitespace, or raise ValueError when blank."""
    stripped = value.strip()
    if not stripped:
        raise ValueError("must not be blank")
    return stripped


def blank_to_none(value: str | None) -> str | None:
    """Return ``value`` without surrounding whitespace, or None when it is blank."""
    if value is None:
        return None
    return value.strip() or None


NoControlCharacters = AfterValidator(reject_control_characters)
SingleLine = AfterValidator(reject_line_control_characters)
NoFormatCharacters = AfterValidator(reject_format_characters)
NotBlank = AfterValidator(reject_blank)
BlankToNone = AfterValidator(blank_to_none)
