"""The RateLimit-* headers and the 429 problem response."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from zapora.errors import ZaporaError, problem_response
from zapora.ratelimit.limiter import Decision


def rate_limit_headers(decision: Decision) -> dict[str, str]:
    """Return the RateLimit-Limit, -Remaining and -Reset headers of the IETF httpapi draft.

    The reset is in seconds from now. A failed storage check returns no headers.
    """
    if decision.limit is None:
        return {}
    return {
        "RateLimit-Limit": str(decision.limit),
        "RateLimit-Remaining": str(decision.remaining),
        "RateLimit-Reset": str(decision.reset_seconds),
    }


def raw_rate_limit_headers(decision: Decision) -> tuple[tuple[bytes, bytes], ...]:
    """Return the headers of ``rate_limit_headers`` as ASGI name and value pairs."""
    if decision.limit is None:
        return ()
    return (
        (b"ratelimit-limit", str(decision.limit).encode()),
        (b"ratelimit-remaining", str(decision.remaining).encode()),
        (b"ratelimit-reset", str(decision.reset_seconds).encode()),
    )


def retry_after_seconds(decision: Decision) -> int:
    return max(1, decision.reset_seconds)


class RateLimitedError(ZaporaError):
    """Too many requests. The decision sets the Retry-After and RateLimit-* headers."""

    status_code = 429
    code = "rate_limited"
    title = "Too many requests"

    def __init__(self, decision: Decision, subject: str) -> None:
        seconds = retry_after_seconds(decision)
        super().__init__(
            f"Too many {subject}: the limit is {decision.window}. Retry after {seconds} seconds.",
            fix=f"wait {seconds} seconds before the next request",
            extra={"retry_after": seconds},
        )
        self.decision = decision


def rate_limited_response(exc: RateLimitedError, instance: str) -> JSONResponse:
    headers = rate_limit_headers(exc.decision)
    headers["Retry-After"] = str(retry_after_seconds(exc.decision))
    return problem_response(
        status=exc.status_code,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        instance=instance,
        errors=[{"field": None, "message": exc.detail, "fix": exc.fix}],
        extra=exc.extra,
        headers=headers,
    )


async def handle_rate_limited(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RateLimitedError)
    return rate_limited_response(exc, request.url.path)
