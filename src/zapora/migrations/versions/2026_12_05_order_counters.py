"""Move the order counter from the store's row to a table of its own

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05

Each order bumped stores.last_order_number, so the store's row got a new version per order.
Until vacuum removed them, every read of the store walked those versions, and the foreign
key checks of each order's rows read it several times per order. With a million orders
PostgreSQL spent most of its time there and placed orders six times slower than after a
VACUUM. The counter now lives in store_order_counters, which nothing else reads.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "store_order_counters",
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_store_order_counters_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("store_id", name=op.f("pk_store_order_counters")),
    )
    op.execute(
        "INSERT INTO store_order_counters (store_id, last_number) "
        "SELECT id, last_order_number FROM stores WHERE last_order_number > 0"
    )
    # A plain DROP COLUMN (SQLite 3.35 and later). A batch rebuild of stores would drop the
    # old table, and SQLite's foreign keys would delete every row that cascades from it.
    op.execute("ALTER TABLE stores DROP COLUMN last_order_number")


def downgrade() -> None:
    op.add_column(
        "stores", sa.Column("last_order_number", sa.Integer(), nullable=False, server_default="0")
    )
    op.execute(
        "UPDATE stores SET last_order_number = ("
        "SELECT last_number FROM store_order_counters c WHERE c.store_id = stores.id"
        ") WHERE id IN (SELECT store_id FROM store_order_counters)"
    )
    op.drop_table("store_order_counters")
