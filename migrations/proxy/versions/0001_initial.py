"""route table, audit, verifications, shadow mismatches

Revision ID: 0001
Revises: (none)
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
        "proxy_audit",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", strangler_messaging.UtcDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("route_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("table_version", sa.BigInteger(), nullable=True),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proxy_audit")),
    )
    op.create_index("ix_proxy_audit_route", "proxy_audit", ["route_id", "id"], unique=False)
    op.create_table(
        "proxy_routes",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("updated_at", strangler_messaging.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proxy_routes")),
    )
    op.create_table(
        "proxy_shadow_mismatches",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", strangler_messaging.UtcDateTime(timezone=True), nullable=False),
        sa.Column("route_id", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("legacy_status", sa.Integer(), nullable=False),
        sa.Column("service_status", sa.Integer(), nullable=True),
        sa.Column("differences", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proxy_shadow_mismatches")),
    )
    op.create_index(
        "ix_proxy_shadow_mismatches_route",
        "proxy_shadow_mismatches",
        ["route_id", "id"],
        unique=False,
    )
    op.create_table(
        "proxy_table_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", strangler_messaging.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proxy_table_version")),
    )
    op.create_table(
        "proxy_verifications",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("provider_version", sa.String(length=128), nullable=False),
        sa.Column("pact_hash", sa.String(length=64), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("requests", sa.Text(), nullable=False),
        sa.Column("verified_at", strangler_messaging.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proxy_verifications")),
    )
    op.create_index(
        "ix_proxy_verifications_provider", "proxy_verifications", ["provider", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_proxy_verifications_provider", table_name="proxy_verifications")
    op.drop_table("proxy_verifications")
    op.drop_table("proxy_table_version")
    op.drop_index("ix_proxy_shadow_mismatches_route", table_name="proxy_shadow_mismatches")
    op.drop_table("proxy_shadow_mismatches")
    op.drop_table("proxy_routes")
    op.drop_index("ix_proxy_audit_route", table_name="proxy_audit")
    op.drop_table("proxy_audit")
