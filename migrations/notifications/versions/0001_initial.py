"""initial schema: notifications, recipients, deliveries, inbox, outbox, write ownership

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import strangler_messaging

revision: str = "0001"
down_revision: str | None = None
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
        "notifications_deliveries",
        sa.Column("notification_id", sa.String(length=36), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", strangler_messaging.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("message_id", sa.String(length=128), nullable=False),
        sa.Column("sent_at", strangler_messaging.UtcDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", strangler_messaging.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("notification_id", name=op.f("pk_notifications_deliveries")),
    )
    with op.batch_alter_table("notifications_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notifications_deliveries_status", ["status", "updated_at"], unique=False
        )

    op.create_table(
        "notifications_notifications",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("source_event_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", strangler_messaging.UtcDateTime(timezone=True), nullable=False),
        sa.Column("origin", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications_notifications")),
        sa.UniqueConstraint(
            "source_event_id", name=op.f("uq_notifications_notifications_source_event_id")
        ),
    )
    with op.batch_alter_table("notifications_notifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notifications_notifications_customer_id"), ["customer_id"], unique=False
        )

    op.create_table(
        "notifications_pending",
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("event_type", sa.String(length=128), nullable=False),
        sa.Column("data", sa.Text(), nullable=True),
        sa.Column("handled_by", sa.String(length=32), nullable=True),
        sa.Column("received_at", strangler_messaging.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_notifications_pending")),
    )
    op.create_table(
        "notifications_recipients",
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_notifications_recipients")),
    )
    op.create_table(
        "outbox",
        sa.Column(
            "position",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("aggregatetype", sa.String(length=64), nullable=False),
        sa.Column("aggregateid", sa.String(length=128), nullable=False),
        sa.Column("type", sa.String(length=128), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("origin", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", strangler_messaging.UtcDateTime(timezone=True), nullable=False),
        sa.Column("traceparent", sa.String(length=55), nullable=True),
        sa.Column("tracestate", sa.String(length=512), nullable=True),
        sa.Column("resync", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("published_at", strangler_messaging.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_outbox")),
        sa.UniqueConstraint("id", name=op.f("uq_outbox_id")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_unpublished",
            ["position"],
            unique=False,
            postgresql_where=sa.text("published_at IS NULL"),
            sqlite_where=sa.text("published_at IS NULL"),
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
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_outbox_unpublished",
            postgresql_where=sa.text("published_at IS NULL"),
            sqlite_where=sa.text("published_at IS NULL"),
        )

    op.drop_table("outbox")
    op.drop_table("notifications_recipients")
    op.drop_table("notifications_pending")
    with op.batch_alter_table("notifications_notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_notifications_customer_id"))

    op.drop_table("notifications_notifications")
    with op.batch_alter_table("notifications_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_deliveries_status")

    op.drop_table("notifications_deliveries")
    op.drop_table("inbox_aggregates")
    op.drop_table("inbox")
