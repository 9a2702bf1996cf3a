"""Delivery zones, couriers and offers, and notification fields

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "delivery_zones",
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column(
            "geometry",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("radius_meters", sa.Integer(), nullable=True),
        sa.Column("fee", sa.Integer(), nullable=False),
        sa.Column("minimum_order", sa.Integer(), nullable=False),
        sa.Column("estimate_minutes", sa.Integer(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_delivery_zones_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_zones")),
    )
    with op.batch_alter_table("delivery_zones", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delivery_zones_store_id"), ["store_id"], unique=False)

    op.create_table(
        "courier_states",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("on_shift", sa.Boolean(), nullable=False),
        sa.Column("shift_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("latitude", sa.Double(), nullable=True),
        sa.Column("longitude", sa.Double(), nullable=True),
        sa.Column("position_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_courier_states_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_courier_states_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_courier_states")),
    )
    with op.batch_alter_table("courier_states", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_courier_states_store_id"), ["store_id"], unique=False)

    op.create_table(
        "delivery_offers",
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("courier_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["courier_id"],
            ["users.id"],
            name=op.f("fk_delivery_offers_courier_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_delivery_offers_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_delivery_offers_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_offers")),
    )
    with op.batch_alter_table("delivery_offers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_delivery_offers_courier_id"), ["courier_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_delivery_offers_order_id"), ["order_id"], unique=False)
        batch_op.create_index(
            "ix_delivery_offers_status_expires_at", ["status", "expires_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_delivery_offers_store_id"), ["store_id"], unique=False)

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivery_zone_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("delivery_zone_name", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("zone_minimum_order", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("estimate_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("fee_pending", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("estimated_delivery_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("delay_notified_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("courier_id", sa.Uuid(), nullable=True))
        batch_op.add_column(
            sa.Column("courier_assigned_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("handover_code", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("proof_photo_key", sa.String(length=512), nullable=True))
        batch_op.add_column(
            sa.Column("delivery_failed_reason", sa.String(length=500), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_orders_courier_id"), ["courier_id"], unique=False)
        batch_op.create_index("ix_orders_status", ["status"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_orders_delivery_zone_id_delivery_zones"),
            "delivery_zones",
            ["delivery_zone_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_orders_courier_id_users"),
            "users",
            ["courier_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("order_id", sa.Uuid(), nullable=True))
        batch_op.add_column(
            sa.Column("kind", sa.String(length=32), server_default="reply", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "template_body",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
        batch_op.create_index(batch_op.f("ix_outbox_messages_order_id"), ["order_id"], unique=False)
        batch_op.create_index(
            "ix_outbox_messages_pending_store_id_to",
            ["store_id", "to", "created_at", "id"],
            unique=False,
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_messages_order_id_orders"),
            "orders",
            ["order_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.add_column(sa.Column("latitude", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("longitude", sa.Double(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "typed_address_policy",
                sa.String(length=16),
                server_default="confirm_fee",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("update_template_name", sa.String(length=512), nullable=True))
        batch_op.add_column(
            sa.Column("update_template_language", sa.String(length=16), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "update_template_parameters",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                server_default="[]",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column("courier_offer_seconds", sa.Integer(), server_default="60", nullable=False)
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("full_name", sa.String(length=120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("full_name")

    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.drop_column("courier_offer_seconds")
        batch_op.drop_column("update_template_parameters")
        batch_op.drop_column("update_template_language")
        batch_op.drop_column("update_template_name")
        batch_op.drop_column("typed_address_policy")
        batch_op.drop_column("longitude")
        batch_op.drop_column("latitude")

    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_outbox_messages_order_id_orders"), type_="foreignkey"
        )
        batch_op.drop_index("ix_outbox_messages_pending_store_id_to")
        batch_op.drop_index(batch_op.f("ix_outbox_messages_order_id"))
        batch_op.drop_column("template_body")
        batch_op.drop_column("kind")
        batch_op.drop_column("order_id")

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_orders_courier_id_users"), type_="foreignkey")
        batch_op.drop_constraint(
            batch_op.f("fk_orders_delivery_zone_id_delivery_zones"), type_="foreignkey"
        )
        batch_op.drop_index("ix_orders_status")
        batch_op.drop_index(batch_op.f("ix_orders_courier_id"))
        batch_op.drop_column("delivery_failed_reason")
        batch_op.drop_column("proof_photo_key")
        batch_op.drop_column("handover_code")
        batch_op.drop_column("courier_assigned_at")
        batch_op.drop_column("courier_id")
        batch_op.drop_column("delay_notified_at")
        batch_op.drop_column("estimated_delivery_at")
        batch_op.drop_column("fee_pending")
        batch_op.drop_column("estimate_minutes")
        batch_op.drop_column("zone_minimum_order")
        batch_op.drop_column("delivery_zone_name")
        batch_op.drop_column("delivery_zone_id")

    with op.batch_alter_table("delivery_offers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_offers_store_id"))
        batch_op.drop_index("ix_delivery_offers_status_expires_at")
        batch_op.drop_index(batch_op.f("ix_delivery_offers_order_id"))
        batch_op.drop_index(batch_op.f("ix_delivery_offers_courier_id"))

    op.drop_table("delivery_offers")
    with op.batch_alter_table("courier_states", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_courier_states_store_id"))

    op.drop_table("courier_states")
    with op.batch_alter_table("delivery_zones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_zones_store_id"))

    op.drop_table("delivery_zones")
