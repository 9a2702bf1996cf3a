"""structlog configuration: JSON in production, readable console output in development."""

from __future__ import annotations

import json as stdlib_json
import logging
import sys
from collections.abc import Mapping
from types import ModuleType
from typing import Any

import orjson
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
# The logger of the one ``http.request`` line written for every request.
ACCESS_LOGGER_NAME = "zapora.access"
# Values of these types are logged as given unless their key is a phone or credential key.
_PLAIN_TYPES = frozenset({str, int, float, bool})
# The masking class of each key name, remembered because most log calls reuse a few keys.
_KEEP, _SECRET, _PHONE = 0, 1, 2
_MAX_REMEMBERED_KEYS = 2048
_key_kinds: dict[str, int] = {}


_add_timestamp = structlog.processors.TimeStamper(fmt="iso", utc=True)


def shared_processors() -> list[structlog.types.Processor]:
    """Return the processors run on structlog events and standard library records alike."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        _add_timestamp,
        add_trace_context,
        mask_sensitive_values,
    ]


def _json_default(value: Any) -> Any:
    try:
        return value.__structlog__()
    except AttributeError:
        return repr(value)


def render_json(event_dict: Mapping[str, Any], default: Any = _json_default) -> str:
    """Render a log event as one compact JSON object.

    UUIDs, dates and dataclasses are rendered by orjson itself, other values by their
    ``__structlog__`` method or ``repr``. Integers beyond 64 bits, which orjson rejects, are
    rendered by the standard library encoder instead.
    """
    try:
        return orjson.dumps(event_dict, default=default, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return stdlib_json.dumps(event_dict, default=default, separators=(",", ":"))


def build_formatter(*, json: bool) -> structlog.stdlib.ProcessorFormatter:
    """Build the log handler formatter: JSON lines, or readable console output."""
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(serializer=render_json)
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
    global _json_handler
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
    _json_handler = handler if json else None


# The JSON handler installed by configure_logging, None when logs are console output.
_json_handler: logging.StreamHandler[Any] | None = None
_access_stdlib_logger = logging.getLogger(ACCESS_LOGGER_NAME)
_access_fallback = structlog.get_logger(ACCESS_LOGGER_NAME)


def _handler_is_only_destination(handler: logging.Handler) -> bool:
    """Return whether an access record would reach ``handler`` and nothing else, unfiltered."""
    if handler.filters or handler.level > logging.INFO:
        return False
    logger: logging.Logger | None = _access_stdlib_logger
    while logger is not None:
        if logger.filters:
            return False
        if logger.parent is None:
            return len(logger.handlers) == 1 and logger.handlers[0] is handler
        if logger.handlers or not logger.propagate:
            return False
        logger = logger.parent
    return False


def log_request(*, method: str, route: str, status: int, duration_ms: float) -> None:
    """Write the ``http.request`` access line of one request.

    With JSON logs whose only destination is the handler that configure_logging installed,
    the line is built and written here, without a log record and a formatter. It has the
    same keys, in the same order, as the standard library logging path renders. Any other
    setup (console output, extra handlers, filters) goes through standard logging.
    """
    handler = _json_handler
    if (
        handler is None
        or not _access_stdlib_logger.isEnabledFor(logging.INFO)
        or not _handler_is_only_destination(handler)
    ):
        _access_fallback.info(
            "http.request", method=method, route=route, status=status, duration_ms=duration_ms
        )
        return
    event: dict[str, Any] = {
        "method": method,
        "route": route,
        "status": status,
        "duration_ms": duration_ms,
        "event": "http.request",
    }
    structlog.contextvars.merge_contextvars(None, "info", event)
    event["level"] = "info"
    event["logger"] = ACCESS_LOGGER_NAME
    _add_timestamp(None, "info", event)
    add_trace_context(None, "info", event)
    mask_sensitive_values(None, "info", event)
    line = render_json(event) + handler.terminator
    handler.acquire()
    try:
        handler.stream.write(line)
        handler.flush()
    except Exception:
        handler.handleError(logging.makeLogRecord({"msg": line}))
    finally:
        handler.release()


def mask_phone(wa_id: str | None) -> str | None:
    """Keep the last four digits of a phone number for logs."""
    if not wa_id:
        return wa_id
    return "*" * max(len(wa_id) - 4, 0) + wa_id[-4:]


def _is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return lowered in SECRET_KEYS or lowered.endswith(SECRET_SUFFIXES)


def _key_kind(key: str) -> int:
    kind = _key_kinds.get(key)
    if kind is None:
        lowered = key.lower()
        if _is_secret_key(lowered):
            kind = _SECRET
        elif lowered in PHONE_KEYS:
            kind = _PHONE
        else:
            kind = _KEEP
        if len(_key_kinds) >= _MAX_REMEMBERED_KEYS:
            _key_kinds.clear()
        _key_kinds[key] = kind
    return kind


def _mask_value(key: str, value: Any, depth: int) -> Any:
    if value is None:
        return None
    kind = _key_kind(key)
    if kind == _SECRET:
        return REDACTED
    if kind == _PHONE:
        return mask_phone(str(value)) if isinstance(value, str | int) else REDACTED
    if type(value) in _PLAIN_TYPES:
        return value
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
        if key == "event" or value is None:
            continue
        if type(value) in _PLAIN_TYPES and _key_kinds.get(key) == _KEEP:
            continue
        masked = _mask_value(key, value, 0)
        if masked is not value:
            event_dict[key] = masked
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
