"""backfill progress, and the outbox's resync flag for reconcile repairs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import strangler_messaging

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "backfill_progress",
        sa.Column("context", sa.String(length=64), nullable=False),
        sa.Column("last_key", sa.String(length=128), nullable=True),
        sa.Column("emitted", sa.BigInteger(), nullable=False),
        sa.Column("started_at", strangler_messaging.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", strangler_messaging.UtcDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", strangler_messaging.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("context", name=op.f("pk_backfill_progress")),
    )
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(
            sa.Column("resync", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_column("resync")
    op.drop_table("backfill_progress")
