"""Read-only routes of the audit log: a store's entries, and every store's for admins.

The log has no routes that create, change or delete entries; entries are written only by
``zapora.audit.service.record`` in the transaction of the change they describe.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from zapora.audit import service
from zapora.audit.schemas import AuditEntryOut, AuditPage, AuditQuery, PlatformAuditQuery
from zapora.auth.models import User
from zapora.auth.permissions import Permission
from zapora.dependencies import SessionDep, load_store_for, reads_only, require
from zapora.errors import PROBLEM_CONTENT_TYPE

router = APIRouter(tags=["audit"])

AuditReader = Annotated[User, Depends(require(Permission.AUDIT_READ))]
PlatformAuditReader = Annotated[User, Depends(require(Permission.AUDIT_READ_ALL))]


def _problems(descriptions: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    return {
        code: {"description": description, "content": {PROBLEM_CONTENT_TYPE: {}}}
        for code, description in descriptions.items()
    }


_INVALID = "Unknown parameter, a time without an offset, until not after since, or a bad cursor."


def _page(page: service.AuditListPage) -> AuditPage:
    items = [AuditEntryOut.model_validate(entry) for entry in page.entries]
    return AuditPage(items=items, next_cursor=page.next_cursor)


@router.get(
    "/stores/{store_id}/audit",
    response_model=AuditPage,
    responses=_problems(
        {
            403: "The caller's role cannot read the audit log.",
            404: "The store does not exist or the caller does not belong to it.",
            422: _INVALID,
        }
    ),
)
@reads_only
async def list_store_audit(
    store_id: uuid.UUID,
    query: Annotated[AuditQuery, Query()],
    session: SessionDep,
    user: AuditReader,
) -> AuditPage:
    """List the store's audit entries, newest first, one page at a time."""
    store = await load_store_for(session, user, store_id)
    page = await service.list_entries(
        session, query.to_filter(store.id), limit=query.limit, cursor=query.cursor
    )
    return _page(page)


@router.get(
    "/audit",
    response_model=AuditPage,
    responses=_problems({403: "Only platform admins read every store's log.", 422: _INVALID}),
)
@reads_only
async def list_platform_audit(
    query: Annotated[PlatformAuditQuery, Query()],
    session: SessionDep,
    user: PlatformAuditReader,
) -> AuditPage:
    """List audit entries of every store and of the platform, newest first."""
    page = await service.list_entries(
        session, query.to_filter(query.store_id), limit=query.limit, cursor=query.cursor
    )
    return _page(page)
