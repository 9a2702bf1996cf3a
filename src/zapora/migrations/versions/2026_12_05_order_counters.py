"""Take order numbers from a table of their own

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05

Each order bumped stores.last_order_number, so the store's row got a new version per order.
Until vacuum removed them, every read of the store walked those versions, and the foreign
key checks of each order's rows read it several times per order. With a million orders and
no vacuum, PostgreSQL placed orders six times slower than after a VACUUM. Numbers now come
from store_order_counters, which nothing else reads.

The old column stays for one release, because during a rolling update the previous
release still numbers orders with an UPDATE of it. On PostgreSQL a trigger takes such a
number from the new counter instead, so both releases hand out one sequence per store.
SQLite serves from one process, which runs a single release. The release that drops the
column must drop the trigger and its function first.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NUMBER_FROM_COUNTER = """
CREATE FUNCTION zapora_number_from_counter() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO store_order_counters (store_id, last_number) VALUES (NEW.id, 1)
    ON CONFLICT (store_id) DO UPDATE SET last_number = store_order_counters.last_number + 1
    RETURNING last_number INTO NEW.last_order_number;
    RETURN NEW;
END
$$
"""
TRIGGER = """
CREATE TRIGGER stores_number_from_counter
BEFORE UPDATE OF last_order_number ON stores
FOR EACH ROW WHEN (NEW.last_order_number IS DISTINCT FROM OLD.last_order_number)
EXECUTE FUNCTION zapora_number_from_counter()
"""


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
    if op.get_bind().dialect.name == "postgresql":
        op.execute(NUMBER_FROM_COUNTER)
        op.execute(TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # No number may be taken between the copy below and the end of this transaction.
        op.execute("LOCK TABLE stores, store_order_counters IN ACCESS EXCLUSIVE MODE")
        op.execute("DROP TRIGGER stores_number_from_counter ON stores")
        op.execute("DROP FUNCTION zapora_number_from_counter()")
    op.execute(
        "UPDATE stores SET last_order_number = ("
        "SELECT last_number FROM store_order_counters c WHERE c.store_id = stores.id"
        ") WHERE id IN (SELECT store_id FROM store_order_counters)"
    )
    op.drop_table("store_order_counters")
