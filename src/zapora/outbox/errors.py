"""Send failures and how the sender treats each Graph API error code."""

from __future__ import annotations

from typing import Any

# Graph API error codes worth another attempt after a backoff: throughput limit of the
# number, pair rate limit to one customer, and generic or temporary service errors.
RETRYABLE_CODES = frozenset({130429, 131056, 131000, 1, 2})

# Codes that no retry can fix: undeliverable recipient, unsupported message type, template
# parameter mismatch or missing translation, and an expired or invalid access token.
TERMINAL_CODES = frozenset({131026, 131051, 132000, 132001, 190})

# Outside the 24-hour customer-service window only an approved template may be sent.
OUTSIDE_WINDOW_CODE = 131047

# Long enough for the Graph message and its details, short enough for a log line.
MAX_ERROR_MESSAGE_LENGTH = 1000


NO_TEMPLATE_FIX = (
    "The customer's 24-hour window is closed and the store has no usable update template. "
    "Set update_template_name, update_template_language and update_template_parameters "
    "on the store so that order updates reach customers after the window closes."
)


class SendError(Exception):
    """A failed send: the Graph error code when there is one, and whether to retry."""

    def __init__(self, message: str, *, retryable: bool, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message[:MAX_ERROR_MESSAGE_LENGTH]
        self.retryable = retryable
        self.code = code


def is_retryable(code: int | None, http_status: int) -> bool:
    """Decide whether a Graph error is worth another attempt.

    A known code decides. Otherwise HTTP 429 and 5xx are temporary and other 4xx are not.
    """
    if code in RETRYABLE_CODES:
        return True
    # Outside the window the sender switches to the store's template itself, so the
    # free-form body is never worth another attempt.
    if code in TERMINAL_CODES or code == OUTSIDE_WINDOW_CODE:
        return False
    return http_status == 429 or http_status >= 500


def graph_error(http_status: int, payload: Any) -> SendError:
    """Build the send error for a non-2xx Graph response from its status and JSON body."""
    code: int | None = None
    message = f"Graph API returned HTTP {http_status}"
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        raw_code = error.get("code")
        if isinstance(raw_code, int) and not isinstance(raw_code, bool):
            code = raw_code
        if error.get("message"):
            message = f"{message}: {error['message']}"
        error_data = error.get("error_data")
        if isinstance(error_data, dict) and error_data.get("details"):
            message = f"{message} ({error_data['details']})"
    return SendError(message, retryable=is_retryable(code, http_status), code=code)


def window_closed_error() -> SendError:
    """Build the error of a message that may not go out: window closed and no template."""
    return SendError(f"Not sent: {NO_TEMPLATE_FIX}", retryable=False, code=OUTSIDE_WINDOW_CODE)


def without_template(error: SendError) -> SendError:
    """Explain a 131047 refusal of a message that has no template to fall back to."""
    if error.code != OUTSIDE_WINDOW_CODE:
        return error
    return SendError(f"{error.message}. {NO_TEMPLATE_FIX}", retryable=False, code=error.code)
