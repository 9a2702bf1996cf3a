"""opening hours pix and tracking

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 17:54:19.419873+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "store_closures",
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_store_closures_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_closures")),
        sa.UniqueConstraint("store_id", "day", name=op.f("uq_store_closures_store_id_day")),
    )
    with op.batch_alter_table("store_closures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_store_closures_store_id"), ["store_id"], unique=False)

    op.create_table(
        "store_opening_hours",
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("opens_minute", sa.Integer(), nullable=False),
        sa.Column("closes_minute", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_store_opening_hours_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_opening_hours")),
    )
    with op.batch_alter_table("store_opening_hours", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_store_opening_hours_store_id"), ["store_id"], unique=False
        )

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tracking_token", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("payment_received_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("payment_received_by", sa.Uuid(), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_orders_tracking_token"), ["tracking_token"]
        )

    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("last_order_lead_minutes", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("pix_key", sa.String(length=77), nullable=True))
        batch_op.add_column(sa.Column("pix_merchant_name", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("pix_merchant_city", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.drop_column("pix_merchant_city")
        batch_op.drop_column("pix_merchant_name")
        batch_op.drop_column("pix_key")
        batch_op.drop_column("last_order_lead_minutes")

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_orders_tracking_token"), type_="unique")
        batch_op.drop_column("payment_received_by")
        batch_op.drop_column("payment_received_at")
        batch_op.drop_column("tracking_token")

    with op.batch_alter_table("store_opening_hours", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_store_opening_hours_store_id"))

    op.drop_table("store_opening_hours")
    with op.batch_alter_table("store_closures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_store_closures_store_id"))

    op.drop_table("store_closures")
