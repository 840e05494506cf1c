"""The monolith's schema registry and engine factory.

One database, one :data:`metadata`; each module declares its own tables on it with a module
prefix (``catalog_products``), the way a modular monolith keeps a schema per module on
databases that have no schemas (SQLite).
"""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from strangler_messaging import define_outbox_table
from strangler_messaging.backfill import define_backfill_table
from strangler_messaging.db import NAMING_CONVENTION, READ_ONLY, make_engine
from strangler_messaging.inbox import define_inbox_tables
from strangler_messaging.ownership import define_ownership_table

metadata = MetaData(naming_convention=NAMING_CONVENTION)
outbox = define_outbox_table(metadata)
backfill_progress = define_backfill_table(metadata)
inbox = define_inbox_tables(metadata)  # reverse sync: events of extracted services
write_ownership = define_ownership_table(metadata)

__all__ = ["READ_ONLY", "Base", "backfill_progress", "inbox", "make_engine", "metadata",
           "outbox", "write_ownership"]


class Base(DeclarativeBase):
    """Declarative base of every module's mapped classes."""

    metadata = metadata
