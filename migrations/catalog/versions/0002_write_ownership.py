"""write ownership: the row that fences the service's product writes

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
        "write_ownership",
        sa.Column("context", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", strangler_messaging.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("context", name=op.f("pk_write_ownership")),
    )


def downgrade() -> None:
    op.drop_table("write_ownership")
