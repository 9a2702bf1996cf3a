"""Index pending inbound messages by age

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05

The worker's sweep takes the oldest pending inbound messages. With only the index on
(status, next_attempt_at), PostgreSQL read and sorted every pending row on each sweep, which
grows with the backlog. A partial index in the sweep's order lets it read a few rows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_inbound_messages_pending_sent_at"
TABLE = "inbound_messages"


def upgrade() -> None:
    op.create_index(
        INDEX,
        TABLE,
        ["sent_at", "received_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name=TABLE)
