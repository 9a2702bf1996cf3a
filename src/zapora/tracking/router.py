"""The public tracking route. The unguessable token in the path is the only credential."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from zapora.dependencies import SessionDep
from zapora.errors import PROBLEM_CONTENT_TYPE
from zapora.tracking import service
from zapora.tracking.schemas import TrackingOut

router = APIRouter(tags=["tracking"])

_PROBLEMS: dict[int | str, dict[str, Any]] = {
    404: {
        "description": "No order has this tracking token.",
        "content": {PROBLEM_CONTENT_TYPE: {}},
    },
}


@router.get("/track/{token}", response_model=TrackingOut, responses=_PROBLEMS)
async def track_order(token: str, session: SessionDep, response: Response) -> TrackingOut:
    """Return an order's status and timeline for the customer holding its tracking link."""
    # The page changes with every status, and shared caches must not keep a token's page.
    response.headers["Cache-Control"] = "no-store"
    return await service.track_order(session, token)
