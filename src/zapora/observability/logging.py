"""structlog configuration: JSON in production, readable console output in development."""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from types import ModuleType
from typing import Any

import structlog
from structlog.types import EventDict, WrappedLogger

otel_trace: ModuleType | None
try:
    from opentelemetry import trace as otel_trace
except ImportError:  # the API comes with the tracing extra
    otel_trace = None

# Keys whose values are phone numbers: logged with only their last four digits.
PHONE_KEYS = frozenset({"wa_id", "phone", "to", "from", "customer_phone", "recipient_id"})
# Keys whose values are credentials: never logged. Any key ending in one of
# SECRET_SUFFIXES is treated the same, e.g. "access_token" or "app_secret".
SECRET_KEYS = frozenset(
    {"authorization", "cookie", "set-cookie", "api_key", "x-api-key", "secret_key", "private_key"}
)
SECRET_SUFFIXES = ("token", "password", "secret")
REDACTED = "[redacted]"
# Nested containers deeper than this are replaced whole instead of walked.
MAX_MASK_DEPTH = 4


def shared_processors() -> list[structlog.types.Processor]:
    """Return the processors run on structlog events and standard library records alike."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_trace_context,
        mask_sensitive_values,
    ]


def build_formatter(*, json: bool) -> structlog.stdlib.ProcessorFormatter:
    """Build the log handler formatter: JSON lines, or readable console output."""
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if json
        # Rich tracebacks take seconds on deep SQLAlchemy stacks and block the event loop.
        else structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info
            if json
            else structlog.processors.StackInfoRenderer(),
            renderer,
        ],
    )


def configure_logging(*, level: str = "INFO", json: bool = False) -> None:
    structlog.configure(
        processors=[*shared_processors(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(build_formatter(json=json))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "httpx", "aiosqlite", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def mask_phone(wa_id: str | None) -> str | None:
    """Keep the last four digits of a phone number for logs."""
    if not wa_id:
        return wa_id
    return "*" * max(len(wa_id) - 4, 0) + wa_id[-4:]


def _is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return lowered in SECRET_KEYS or lowered.endswith(SECRET_SUFFIXES)


def _mask_value(key: str, value: Any, depth: int) -> Any:
    if value is None:
        return None
    lowered = key.lower()
    if _is_secret_key(lowered):
        return REDACTED
    if lowered in PHONE_KEYS:
        return mask_phone(str(value)) if isinstance(value, str | int) else REDACTED
    if isinstance(value, Mapping):
        if depth >= MAX_MASK_DEPTH:
            return REDACTED
        return {
            inner_key: _mask_value(str(inner_key), inner, depth + 1)
            for inner_key, inner in value.items()
        }
    if isinstance(value, list | tuple):
        if depth >= MAX_MASK_DEPTH:
            return REDACTED
        return [_mask_value(key, item, depth + 1) for item in value]
    return value


def mask_sensitive_values(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Mask phone numbers and drop credentials from a log event, nested mappings included.

    A value under a phone key (``wa_id``, ``to``, ...) keeps its last four digits, and a
    value under a credential key (``authorization``, ``*token``, ``*password``,
    ``*secret``) is replaced by ``[redacted]``. Values under other keys are logged as
    given, so a phone number inside a free-text message is not found.
    """
    for key, value in event_dict.items():
        if key != "event":
            event_dict[key] = _mask_value(key, value, 0)
    return event_dict


def add_trace_context(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Add ``trace_id`` and ``span_id`` of the current OpenTelemetry span, when one records."""
    if otel_trace is None:
        return event_dict
    context = otel_trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict.setdefault("trace_id", format(context.trace_id, "032x"))
        event_dict.setdefault("span_id", format(context.span_id, "016x"))
    return event_dict
