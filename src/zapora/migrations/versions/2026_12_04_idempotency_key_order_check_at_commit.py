"""Check an idempotency key's order at commit

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04

A request stores its Idempotency-Key before the order it creates, so that a concurrent
request with the same key waits for it instead of writing a second order. The key's
reference to its order is therefore checked when the transaction commits.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "idempotency_keys"
CONSTRAINT = "fk_idempotency_keys_order_id_orders"


def _recreate_foreign_key(*, deferred: bool) -> None:
    if op.get_bind().dialect.name == "postgresql":
        timing = "DEFERRABLE INITIALLY DEFERRED" if deferred else "NOT DEFERRABLE"
        op.execute(f"ALTER TABLE {TABLE} ALTER CONSTRAINT {CONSTRAINT} {timing}")
        return
    # SQLite cannot alter a constraint, so the table is rebuilt with the new one.
    with op.batch_alter_table(TABLE, recreate="always") as batch_op:
        batch_op.drop_constraint(CONSTRAINT, type_="foreignkey")
        batch_op.create_foreign_key(
            CONSTRAINT,
            "orders",
            ["order_id"],
            ["id"],
            ondelete="CASCADE",
            deferrable=True if deferred else None,
            initially="DEFERRED" if deferred else None,
        )


def upgrade() -> None:
    _recreate_foreign_key(deferred=True)


def downgrade() -> None:
    _recreate_foreign_key(deferred=False)
