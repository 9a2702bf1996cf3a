"""Query parameters and response bodies of the audit log API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from zapora.audit.service import AuditFilter

# Plain ASCII only: names and ids in the log never contain spaces or control characters,
# and PostgreSQL rejects NUL in text parameters.
ActionName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
TargetType = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,32}$")]
TargetId = Annotated[str, StringConstraints(pattern=r"^[!-~]{1,64}$")]


class AuditQuery(BaseModel):
    """Filters and paging of a store's audit log. Unknown parameters are rejected."""

    model_config = ConfigDict(extra="forbid")

    action: ActionName | None = Field(
        default=None,
        description="An exact action such as order.transitioned, or a prefix ending in '.' "
        "such as catalog. for every catalog change.",
    )
    actor_id: uuid.UUID | None = Field(default=None, description="The user or customer who acted.")
    target_type: TargetType | None = Field(default=None, description="Such as order or item.")
    target_id: TargetId | None = None
    since: AwareDatetime | None = Field(
        default=None,
        description="Only entries at or after this ISO 8601 time, given with an offset.",
    )
    until: AwareDatetime | None = Field(
        default=None, description="Only entries before this ISO 8601 time, given with an offset."
    )
    limit: int = Field(default=50, ge=1, le=100)
    cursor: str | None = Field(
        default=None, max_length=512, description="The next_cursor of the previous page."
    )

    def to_filter(self, store_id: uuid.UUID | None) -> AuditFilter:
        return AuditFilter(
            store_id=store_id,
            action=self.action,
            actor_id=self.actor_id,
            target_type=self.target_type,
            target_id=self.target_id,
            since=self.since,
            until=self.until,
        )


class PlatformAuditQuery(AuditQuery):
    """Filters and paging of the whole platform's audit log."""

    store_id: uuid.UUID | None = Field(default=None, description="Only this store's entries.")


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    created_at: datetime
    store_id: uuid.UUID | None
    actor_type: str = Field(description="staff, customer, system or anonymous.")
    actor_id: uuid.UUID | None
    actor_role: str | None
    action: str
    target_type: str | None
    target_id: str | None
    before: dict[str, Any] | None = Field(description="Changed fields before the change.")
    after: dict[str, Any] | None = Field(description="Changed fields after the change.")
    ip: str | None
    request_id: str | None


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: str | None = Field(
        description="The cursor of the next page, or null on the last page."
    )
