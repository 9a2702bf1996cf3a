"""Domain errors and their rendering as ``application/problem+json`` (RFC 9457)."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:zapora:problem:"

logger = structlog.get_logger(__name__)


class ZaporaError(Exception):
    """Base error: an HTTP status, a stable code, a message and optionally the field and fix."""

    status_code = 400
    code = "bad_request"
    title = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        field: str | None = None,
        fix: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.fix = fix
        self.extra = extra or {}


class NotFoundError(ZaporaError):
    status_code = 404
    code = "not_found"
    title = "Not found"


class ConflictError(ZaporaError):
    status_code = 409
    code = "conflict"
    title = "Conflict"


class InvalidInputError(ZaporaError):
    status_code = 422
    code = "invalid_input"
    title = "Invalid input"


class AuthenticationError(ZaporaError):
    status_code = 401
    code = "not_authenticated"
    title = "Not authenticated"


class PermissionDeniedError(ZaporaError):
    status_code = 403
    code = "permission_denied"
    title = "Permission denied"


def problem_response(
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    instance: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_PREFIX + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_CONTENT_TYPE, headers=headers)


def _field_path(location: tuple[Any, ...] | list[Any]) -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


_FIXES = {
    "missing": "add this field",
    "extra_forbidden": "remove this field",
    "json_invalid": "send a valid JSON document",
    "uuid_parsing": "send a UUID such as 3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "int_parsing": "send a whole number",
    "int_type": "send a whole number",
    "string_type": "send a string",
    "bool_parsing": "send true or false",
    "bool_type": "send true or false",
    "enum": "use one of the allowed values",
    "literal_error": "use one of the allowed values",
    "greater_than_equal": "send a larger value",
    "greater_than": "send a larger value",
    "less_than_equal": "send a smaller value",
    "less_than": "send a smaller value",
    "string_too_short": "send a longer value",
    "string_too_long": "send a shorter value",
    "too_short": "send more entries",
    "too_long": "send fewer entries",
    "value_error": "correct the value as the message says",
}


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for error in exc.errors():
        kind = str(error.get("type", ""))
        errors.append(
            {
                "field": _field_path(error.get("loc", ())),
                "message": str(error.get("msg", "invalid value")),
                "fix": _FIXES.get(kind, "correct this value"),
            }
        )
    return errors


async def _handle_zapora_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ZaporaError)
    errors = None
    if exc.field or exc.fix:
        errors = [{"field": exc.field, "message": exc.detail, "fix": exc.fix}]
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    return problem_response(
        status=exc.status_code,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        instance=request.url.path,
        errors=errors,
        extra=exc.extra,
        headers=headers,
    )


async def _handle_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _validation_errors(exc)
    first = errors[0] if errors else {"field": "body", "message": "invalid request"}
    return problem_response(
        status=422,
        code="invalid_input",
        title="Invalid input",
        detail=f"{first['field']}: {first['message']}",
        instance=request.url.path,
        errors=errors,
    )


# Fixes for the 400s Starlette and FastAPI raise on a body they cannot parse, chosen by the
# start of the detail: a JSON document too deeply nested, or a malformed multipart form.
_BODY_FIXES = (
    ("Missing boundary", "send multipart/form-data with its boundary in the Content-Type header"),
    ("Too many fields", "send fewer form fields"),
    ("Too many files", "send fewer files"),
    ("Field exceeded", "send shorter form fields"),
    ("Part exceeded", "send smaller form parts"),
)
_BODY_FIX = "send a well-formed body: JSON without deep nesting, or a valid multipart form"


def _body_error(detail: str) -> dict[str, Any]:
    fix = next((fix for prefix, fix in _BODY_FIXES if detail.startswith(prefix)), _BODY_FIX)
    return {"field": "body", "message": detail, "fix": fix}


async def _handle_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    titles = {
        400: "Bad request",
        404: "Not found",
        405: "Method not allowed",
        413: "Request body too large",
    }
    codes = {
        400: "bad_request",
        404: "not_found",
        405: "method_not_allowed",
        413: "payload_too_large",
    }
    detail = str(exc.detail)
    return problem_response(
        status=exc.status_code,
        code=codes.get(exc.status_code, "http_error"),
        title=titles.get(exc.status_code, "HTTP error"),
        detail=detail,
        instance=request.url.path,
        # Only the framework raises HTTPException, and its 400s are all about the body.
        errors=[_body_error(detail)] if exc.status_code == 400 else None,
        headers=dict(exc.headers) if exc.headers else None,
    )


async def _handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("request.failed", path=request.url.path, error=type(exc).__name__)
    return problem_response(
        status=500,
        code="internal_error",
        title="Internal server error",
        detail="The server failed to handle this request; try again later.",
        instance=request.url.path,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ZaporaError, _handle_zapora_error)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, _handle_http_error)
    app.add_exception_handler(Exception, _handle_unexpected)
