"""The proxy database: the route table, its version counter, audit, verifications, mismatches."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from strangler_messaging import UtcDateTime

metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s"})

routes = Table(
    "proxy_routes", metadata,
    Column("id", String(64), primary_key=True),
    Column("document", Text, nullable=False),  # Route.to_dict() as JSON
    Column("updated_at", UtcDateTime(), nullable=False),
)

table_version = Table(
    "proxy_table_version", metadata,
    Column("id", Integer, primary_key=True),  # always 1
    Column("version", BigInteger, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

audit = Table(
    "proxy_audit", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("source", String(32), nullable=False),  # cli, api, import, breaker
    Column("action", String(32), nullable=False),
    Column("route_id", String(64)),
    Column("reason", Text, nullable=False),
    Column("before", Text),  # JSON or NULL
    Column("after", Text),
    Column("table_version", BigInteger),
    Column("forced", Boolean, nullable=False, default=False),
    Index("ix_proxy_audit_route", "route_id", "id"),
)

verifications = Table(
    "proxy_verifications", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("provider", String(64), nullable=False),
    Column("provider_version", String(128), nullable=False),
    Column("pact_hash", String(64), nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("requests", Text, nullable=False),  # JSON [[method, path], ...] verified
    Column("verified_at", UtcDateTime(), nullable=False),
    Index("ix_proxy_verifications_provider", "provider", "id"),
)

mismatches = Table(
    "proxy_shadow_mismatches", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("route_id", String(64), nullable=False),
    Column("method", String(8), nullable=False),
    Column("target", Text, nullable=False),
    Column("legacy_status", Integer, nullable=False),
    Column("service_status", Integer),
    Column("differences", Text, nullable=False),  # JSON list, truncated
    Index("ix_proxy_shadow_mismatches_route", "route_id", "id"),
)
