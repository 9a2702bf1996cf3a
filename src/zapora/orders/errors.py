"""Expected business failures of ordering, each a stable problem code."""

from datetime import datetime

from zapora.errors import ConflictError, InvalidInputError


class StoreClosedError(ConflictError):
    """The store takes no orders now. ``opens_next_at`` is None when no reopening is known."""

    code = "store_closed"
    title = "Store closed"

    def __init__(
        self,
        detail: str,
        *,
        opens_next_at: datetime | None = None,
        field: str | None = None,
        fix: str | None = None,
    ) -> None:
        opens = opens_next_at.isoformat() if opens_next_at is not None else None
        super().__init__(detail, field=field, fix=fix, extra={"opens_next_at": opens})
        self.opens_next_at = opens_next_at


class ItemUnavailableError(ConflictError):
    code = "item_unavailable"
    title = "Item unavailable"


class BelowMinimumOrderError(InvalidInputError):
    code = "below_minimum_order"
    title = "Below the minimum order"


class EmptyOrderError(InvalidInputError):
    code = "empty_order"
    title = "Empty order"


class IdempotencyKeyReusedError(ConflictError):
    code = "idempotency_key_reused"
    title = "Idempotency key reused"


class IdempotencyKeyInUseError(ConflictError):
    code = "idempotency_key_in_use"
    title = "Idempotency key in use"
