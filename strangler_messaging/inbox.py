"""The inbox: what a consumer has already applied, in the consumer's own database.

Two tables, written in the same transaction as the consumer's state change:

- ``inbox``: one row per (consumer, event id) -- a redelivered event is recognised and dropped;
- ``inbox_aggregates``: the newest ``aggregatesequence`` applied per aggregate -- an event that
  arrives after a newer one (requeue, DLQ re-drive, backfill) is skipped as stale.

The inbox stops duplicates; the sequence check stops reordering. Both are needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import BigInteger, Column, MetaData, String, Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from strangler_messaging.envelope import CloudEvent
from strangler_messaging.sqltypes import UtcDateTime, utc_now

APPLIED = "applied"
STALE = "stale"


@dataclass(frozen=True, slots=True)
class InboxTables:
    """The two inbox tables of one database."""

    events: Table
    aggregates: Table


def define_inbox_tables(metadata: MetaData) -> InboxTables:
    """Add the inbox tables to ``metadata``."""
    events = Table(
        "inbox", metadata,
        Column("consumer", String(64), primary_key=True),
        Column("event_id", String(36), primary_key=True),
        Column("type", String(128), nullable=False),
        Column("aggregateid", String(128), nullable=False),
        Column("sequence", BigInteger, nullable=False),
        Column("outcome", String(16), nullable=False),
        Column("received_at", UtcDateTime(), nullable=False),
    )
    aggregates = Table(
        "inbox_aggregates", metadata,
        Column("consumer", String(64), primary_key=True),
        Column("aggregatetype", String(64), primary_key=True),
        Column("aggregateid", String(128), primary_key=True),
        Column("sequence", BigInteger, nullable=False),
    )
    return InboxTables(events, aggregates)


@dataclass(frozen=True, slots=True)
class Admission:
    """What the inbox decided for each event of a batch, in the batch's order."""

    fresh: list[CloudEvent]
    duplicates: list[CloudEvent]
    stale: list[CloudEvent]


class Inbox:
    """Admits a batch of events for one consumer, with a handful of queries per batch."""

    def __init__(self, tables: InboxTables, consumer: str) -> None:
        self._tables = tables
        self._consumer = consumer

    def admit(self, session: Session, events: Sequence[CloudEvent]) -> Admission:
        """Record ``events`` and sort them into fresh, duplicate and stale.

        Must run in the transaction that applies the fresh events: if it rolls back, the
        inbox forgets them too.
        """
        new_ids = self._record(session, events)
        known = self._sequences(session, events)
        fresh: list[CloudEvent] = []
        duplicates: list[CloudEvent] = []
        stale: list[CloudEvent] = []
        seen: set[str] = set()
        for event in events:
            if event.id not in new_ids or event.id in seen:
                duplicates.append(event)
                continue
            seen.add(event.id)
            key = (event.aggregatetype, event.subject)
            held = known.get(key, 0)
            if held > event.aggregatesequence or (
                    held == event.aggregatesequence and not event.resync):
                stale.append(event)
                continue
            known[key] = event.aggregatesequence
            fresh.append(event)
        self._save_sequences(session, fresh)
        if stale:
            self._mark_stale(session, stale)
        return Admission(fresh, duplicates, stale)

    def _record(self, session: Session, events: Sequence[CloudEvent]) -> set[str]:
        table = self._tables.events
        now = utc_now()
        unique = {e.id: e for e in events}.values()
        rows = [{"consumer": self._consumer, "event_id": e.id, "type": e.type,
                 "aggregateid": e.subject, "sequence": e.aggregatesequence,
                 "outcome": APPLIED, "received_at": now} for e in unique]
        # executemany + RETURNING: SQLAlchemy batches this into multi-row INSERTs without
        # compiling a new statement for every batch size.
        insert = _insert_for(session)(table).on_conflict_do_nothing()
        inserted = session.execute(insert.returning(table.c.event_id), rows).scalars()
        return set(inserted)

    def _sequences(self, session: Session, events: Sequence[CloudEvent]
                   ) -> dict[tuple[str, str], int]:
        table = self._tables.aggregates
        by_type: dict[str, set[str]] = {}
        for event in events:
            by_type.setdefault(event.aggregatetype, set()).add(event.subject)
        known: dict[tuple[str, str], int] = {}
        # One query per aggregate type with a plain IN: a row-value IN of hundreds of pairs
        # plans as an OR chain on PostgreSQL (measured ~10x slower at 200 keys).
        for aggregate_type, ids in by_type.items():
            query = select(table.c.aggregateid, table.c.sequence).where(
                table.c.consumer == self._consumer, table.c.aggregatetype == aggregate_type,
                table.c.aggregateid.in_(sorted(ids)))
            known.update({(aggregate_type, a): s for a, s in session.execute(query)})
        return known

    def _save_sequences(self, session: Session, fresh: Sequence[CloudEvent]) -> None:
        if not fresh:
            return
        newest = {(e.aggregatetype, e.subject): e.aggregatesequence for e in fresh}
        table = self._tables.aggregates
        rows = [{"consumer": self._consumer, "aggregatetype": t, "aggregateid": a,
                 "sequence": s} for (t, a), s in newest.items()]
        insert = _insert_for(session)(table)
        session.execute(insert.on_conflict_do_update(
            index_elements=["consumer", "aggregatetype", "aggregateid"],
            set_={"sequence": insert.excluded.sequence}), rows)

    def _mark_stale(self, session: Session, stale: Sequence[CloudEvent]) -> None:
        table = self._tables.events
        session.execute(table.update().where(
            table.c.consumer == self._consumer,
            table.c.event_id.in_([e.id for e in stale])).values(outcome=STALE))


def _insert_for(session: Session):  # type: ignore[no-untyped-def]
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
