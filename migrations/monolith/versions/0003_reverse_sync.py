"""reverse sync: the inbox the monolith consumes the catalog service's events through, and
the write-ownership row that fences product writes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import strangler_messaging

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=128), nullable=False),
        sa.Column("aggregateid", sa.String(length=128), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("received_at", strangler_messaging.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id", name=op.f("pk_inbox")),
    )
    op.create_table(
        "inbox_aggregates",
        sa.Column("consumer", sa.String(length=64), nullable=False),
        sa.Column("aggregatetype", sa.String(length=64), nullable=False),
        sa.Column("aggregateid", sa.String(length=128), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "consumer", "aggregatetype", "aggregateid", name=op.f("pk_inbox_aggregates")
        ),
    )
    op.create_table(
        "write_ownership",
        sa.Column("context", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", strangler_messaging.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("context", name=op.f("pk_write_ownership")),
    )


def downgrade() -> None:
    op.drop_table("write_ownership")
    op.drop_table("inbox_aggregates")
    op.drop_table("inbox")
