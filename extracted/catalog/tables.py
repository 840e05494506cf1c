"""The catalog service's schema: products, the inbox it consumes through, its outbox, and
the write-ownership row that fences its writes.

``catalog_products`` has exactly the monolith's columns, ``version`` included: the copy keeps
each product at the version the events carried, which is what the inbox's sequence check and
reconcile compare. The outbox stays empty until the write cutover, when the service starts
publishing its own writes back to the monolith (reverse sync).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Integer, MetaData, String, Table, Text

from strangler_messaging import UtcDateTime, define_outbox_table
from strangler_messaging.db import NAMING_CONVENTION
from strangler_messaging.inbox import define_inbox_tables
from strangler_messaging.ownership import define_ownership_table

metadata = MetaData(naming_convention=NAMING_CONVENTION)

products = Table(
    "catalog_products", metadata,
    Column("id", String(36), primary_key=True),
    Column("sku", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("price_cents", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

inbox = define_inbox_tables(metadata)
outbox = define_outbox_table(metadata)
ownership = define_ownership_table(metadata)

__all__ = ["inbox", "metadata", "outbox", "ownership", "products"]
