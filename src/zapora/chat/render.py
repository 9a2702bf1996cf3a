"""Turn the messages a bot sends into terminal text, and typed lines into customer messages.

Both directions are pure: no I/O, so the mapping from a typed number to a reply is testable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

LOCATION_HINT = "type /loc LAT LNG [address], e.g. /loc -23.5614 -46.6559 Av. Paulista, 1000"

ReplyType = Literal["list_reply", "button_reply"]


@dataclass(frozen=True)
class Choice:
    """A list row or reply button, numbered as the terminal shows it."""

    number: int
    reply_type: ReplyType
    id: str
    title: str
    description: str | None = None


@dataclass(frozen=True)
class RenderedMessage:
    """A bot message as lines of text plus the choices a typed number selects."""

    lines: list[str]
    choices: list[Choice] = field(default_factory=list)
    requests_location: bool = False


@dataclass(frozen=True)
class SendMessage:
    """A customer message to post: a ``messages[]`` item without ``from``, ``id`` and time."""

    message: dict[str, Any]


@dataclass(frozen=True)
class Quit:
    pass


@dataclass(frozen=True)
class ShowHelp:
    pass


@dataclass(frozen=True)
class InputError:
    """A typed command that cannot be sent, with what to type instead."""

    detail: str


UserAction = SendMessage | Quit | ShowHelp | InputError


def render_message(body: Mapping[str, Any]) -> RenderedMessage:
    """Render a Graph API send request body (``type`` plus that type's object) for a terminal."""
    message_type = body.get("type")
    if message_type == "text":
        return RenderedMessage(lines=str(body.get("text", {}).get("body", "")).splitlines())
    if message_type == "interactive":
        return _render_interactive(body.get("interactive", {}))
    if message_type == "template":
        return RenderedMessage(lines=_render_template(body.get("template", {})))
    if message_type in ("image", "document", "video", "audio", "sticker"):
        return RenderedMessage(lines=_render_media(str(message_type), body.get(message_type, {})))
    if message_type == "reaction":
        reaction = body.get("reaction", {})
        return RenderedMessage(lines=[f"[reaction {reaction.get('emoji', '')}]"])
    compact = json.dumps(body, ensure_ascii=False, sort_keys=True)
    return RenderedMessage(lines=[f"[{message_type} message] {compact}"])


def _render_interactive(interactive: Mapping[str, Any]) -> RenderedMessage:
    lines = _header_lines(interactive.get("header"))
    lines.extend(str(interactive.get("body", {}).get("text", "")).splitlines())
    footer = interactive.get("footer", {}).get("text")
    if footer:
        lines.append(f"_{footer}_")
    kind = interactive.get("type")
    action = interactive.get("action", {})
    if kind == "list":
        choices, list_lines = _render_list(action)
        return RenderedMessage(lines=lines + list_lines, choices=choices)
    if kind == "button":
        choices = _button_choices(action.get("buttons", []))
        lines.extend(f"  {choice.number}. [{choice.title}]" for choice in choices)
        return RenderedMessage(lines=lines, choices=choices)
    if kind == "location_request_message":
        lines.append(f"(the bot asks for your location: {LOCATION_HINT})")
        return RenderedMessage(lines=lines, requests_location=True)
    lines.append(f"[interactive {kind}] {json.dumps(action, ensure_ascii=False)}")
    return RenderedMessage(lines=lines)


def _header_lines(header: Mapping[str, Any] | None) -> list[str]:
    if not header:
        return []
    header_type = header.get("type")
    if header_type == "text":
        return [f"*{header.get('text', '')}*"]
    media = header.get(str(header_type), {})
    return [f"[{header_type} header] {media.get('link') or media.get('id') or ''}".rstrip()]


def _render_list(action: Mapping[str, Any]) -> tuple[list[Choice], list[str]]:
    lines = [f"[{action.get('button', 'Menu')}]"]
    choices: list[Choice] = []
    for section in action.get("sections", []):
        if section.get("title"):
            lines.append(f"  {section['title']}")
        for row in section.get("rows", []):
            choice = Choice(
                number=len(choices) + 1,
                reply_type="list_reply",
                id=str(row.get("id", "")),
                title=str(row.get("title", "")),
                description=row.get("description"),
            )
            choices.append(choice)
            lines.append(f"    {choice.number}. {choice.title}")
            if choice.description:
                lines.append(f"       {choice.description}")
    return choices, lines


def _button_choices(buttons: Sequence[Mapping[str, Any]]) -> list[Choice]:
    return [
        Choice(
            number=number,
            reply_type="button_reply",
            id=str(button.get("reply", {}).get("id", "")),
            title=str(button.get("reply", {}).get("title", "")),
        )
        for number, button in enumerate(buttons, start=1)
    ]


def _render_template(template: Mapping[str, Any]) -> list[str]:
    """Show a template as its name and its numbered values, the way WhatsApp fills them in.

    The approved text lives at Meta, so the terminal can only show what goes into it.
    """
    language = template.get("language", {}).get("code", "")
    lines = [f'[template "{template.get("name", "")}" in {language}]']
    for component in template.get("components", []):
        kind = str(component.get("type", ""))
        prefix = "" if kind == "body" else f"{kind} "
        for number, parameter in enumerate(component.get("parameters", []), start=1):
            value = parameter.get("text", parameter.get(parameter.get("type", ""), ""))
            lines.append(f"  {prefix}{{{{{number}}}}} {value}")
    return lines


def _render_media(message_type: str, media: Mapping[str, Any]) -> list[str]:
    source = media.get("link") or media.get("id") or ""
    lines = [f"[{message_type}] {source}".rstrip()]
    if media.get("caption"):
        lines.extend(str(media["caption"]).splitlines())
    return lines


def parse_line(line: str, choices: Sequence[Choice], context_id: str | None) -> UserAction:
    """Map a typed line to an action.

    A number that matches one of ``choices`` (the latest bot message's rows or buttons)
    becomes that list or button reply, in reply to the message ``context_id``. ``/loc`` sends
    a location, ``/quit`` ends the chat, and anything else is sent as text.
    """
    text = line.strip()
    if not text:
        return InputError("type a message, a choice number, /loc, /help or /quit")
    if text in ("/quit", "/exit"):
        return Quit()
    if text in ("/help", "/?"):
        return ShowHelp()
    if text == "/loc" or text.startswith("/loc "):
        return parse_location(text.removeprefix("/loc"))
    if text.isdigit():
        choice = next((c for c in choices if c.number == int(text)), None)
        if choice is not None:
            return SendMessage(reply_for_choice(choice, context_id))
    return SendMessage({"type": "text", "text": {"body": text}})


def reply_for_choice(choice: Choice, context_id: str | None) -> dict[str, Any]:
    """Build the ``interactive`` message WhatsApp sends when a customer taps a row or button."""
    reply: dict[str, Any] = {"id": choice.id, "title": choice.title}
    if choice.reply_type == "list_reply" and choice.description:
        reply["description"] = choice.description
    message: dict[str, Any] = {
        "type": "interactive",
        "interactive": {"type": choice.reply_type, choice.reply_type: reply},
    }
    if context_id is not None:
        message["context"] = {"id": context_id}
    return message


def parse_location(arguments: str) -> SendMessage | InputError:
    """Parse ``LAT LNG [address]`` into a ``location`` message."""
    parts = arguments.split(maxsplit=2)
    if len(parts) < 2:
        return InputError(f"a location needs a latitude and a longitude: {LOCATION_HINT}")
    try:
        latitude, longitude = float(parts[0]), float(parts[1])
    except ValueError:
        return InputError(f"'{parts[0]} {parts[1]}' is not a pair of numbers: {LOCATION_HINT}")
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return InputError("the latitude must be within -90..90 and the longitude within -180..180")
    location: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
    if len(parts) == 3:
        location["address"] = parts[2].strip()
    return SendMessage({"type": "location", "location": location})
