"""Expected business failures of ordering, each a stable problem code."""

from zapora.errors import ConflictError, InvalidInputError


class StoreClosedError(ConflictError):
    code = "store_closed"
    title = "Store closed"


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
