"""A tiny bounded context for testing backfill and reconcile: items copied to a target.

Source: ``items`` (id, value, version) with an outbox and backfill progress. Target: an inbox
and ``item_copies`` kept by a consumer from ``test.item.*`` events.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    select,
    update,
)
from sqlalchemy.orm import Session

from strangler_messaging import CloudEvent, IntegrationEvent, OutboxWriter, define_outbox_table
from strangler_messaging.backfill import define_backfill_table
from strangler_messaging.consumer import EventConsumer
from strangler_messaging.db import make_engine
from strangler_messaging.inbox import define_inbox_tables
from strangler_messaging.reconcile import StateDigest, digest_of

SNAPSHOT, UPDATED, DELETED = "test.item.snapshot.v1", "test.item.updated.v1", "test.item.deleted.v1"


def _items(metadata: MetaData, name: str) -> Table:
    return Table(name, metadata, Column("id", String(32), primary_key=True),
                 Column("value", String(64), nullable=False),
                 Column("version", Integer, nullable=False))


class ItemWorld:
    """Both sides of the items context on real databases."""

    def __init__(self, source_url: str, target_url: str) -> None:
        source_md, target_md = MetaData(), MetaData()
        self.items = _items(source_md, "items")
        self.outbox = define_outbox_table(source_md)
        self.progress = define_backfill_table(source_md)
        self.copies = _items(target_md, "item_copies")
        self.inbox = define_inbox_tables(target_md)
        self.source, self.target = make_engine(source_url), make_engine(target_url)
        source_md.create_all(self.source)
        target_md.create_all(self.target)
        self.writer = OutboxWriter(self.outbox, source="/tests/items", origin="tests")

    def create(self, count: int) -> None:
        """Items item-0000 ... at version 1, without events (the state predates the outbox)."""
        with self.source.begin() as conn:
            conn.execute(self.items.insert(), [{"id": f"item-{n:04d}", "value": f"v{n}",
                                                "version": 1} for n in range(count)])

    def change(self, item_id: str, value: str) -> None:
        """A live update: bump the version and publish through the outbox."""
        with self.source.begin() as conn:
            row = conn.execute(select(self.items).where(self.items.c.id == item_id)
                               .with_for_update()).one()
            conn.execute(update(self.items).where(self.items.c.id == item_id)
                         .values(value=value, version=row.version + 1))
            self.writer.write(conn, IntegrationEvent(UPDATED, "item", item_id, row.version + 1,
                                                     {"id": item_id, "value": value}))

    def snapshots(self) -> ItemSnapshots:
        """The source side as a snapshot source."""
        return ItemSnapshots(self.items)

    def consumer(self) -> EventConsumer:
        """Keeps ``item_copies`` from item events."""
        copies = self.copies

        def upsert(session: Session, event: CloudEvent) -> None:
            session.execute(delete(copies).where(copies.c.id == event.subject))
            session.execute(copies.insert().values(id=event.subject, value=event.data["value"],
                                                   version=event.aggregatesequence))

        def remove(session: Session, event: CloudEvent) -> None:
            session.execute(delete(copies).where(copies.c.id == event.subject))

        return EventConsumer("items", {SNAPSHOT: upsert, UPDATED: upsert, DELETED: remove},
                             self.target, self.inbox)

    def dispose(self) -> None:
        """Close both engines."""
        self.source.dispose()
        self.target.dispose()


class ItemSnapshots:
    """Items in id order as snapshot events."""

    context = "items"

    def __init__(self, items: Table) -> None:
        self._items = items

    def read_chunk(self, conn: Connection, after: str | None, limit: int
                   ) -> list[tuple[str, IntegrationEvent]]:
        query = select(self._items).order_by(self._items.c.id).limit(limit)
        if after is not None:
            query = query.where(self._items.c.id > after)
        return [(row.id, _snapshot(row)) for row in conn.execute(query)]

    def read_keys(self, conn: Connection, keys: Sequence[str]
                  ) -> list[tuple[str, IntegrationEvent]]:
        query = select(self._items).where(self._items.c.id.in_(list(keys)))
        return [(row.id, _snapshot(row)) for row in conn.execute(query)]

    def tombstone(self, key: str, last_sequence: int) -> IntegrationEvent:
        return IntegrationEvent(DELETED, "item", key, last_sequence + 1, {"id": key})


def _snapshot(row: object) -> IntegrationEvent:
    m = row._mapping  # type: ignore[attr-defined]
    return IntegrationEvent(SNAPSHOT, "item", m["id"], m["version"],
                            {"id": m["id"], "value": m["value"]})


class ItemStates:
    """One side of the items context for reconcile."""

    def __init__(self, engine: Engine, table: Table) -> None:
        self._engine, self._table = engine, table

    def read(self, after: str | None, limit: int) -> list[StateDigest]:
        query = select(self._table).order_by(self._table.c.id).limit(limit)
        if after is not None:
            query = query.where(self._table.c.id > after)
        with self._engine.connect() as conn:
            return [StateDigest(row.id, row.version,
                                digest_of({"id": row.id, "value": row.value}))
                    for row in conn.execute(query)]
