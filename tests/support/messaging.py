"""A source database with an outbox, a target database with an inbox, and a counting consumer.

The consumer's handler counts how often each event's effect was applied (``applied``), so a
test can assert exactly-once application: every event present, every count 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, func, select, text
from sqlalchemy.orm import Session

from strangler_messaging import CloudEvent, IntegrationEvent, OutboxWriter, define_outbox_table
from strangler_messaging.consumer import ConsumerSettings, EventConsumer, PermanentError
from strangler_messaging.db import make_engine
from strangler_messaging.inbox import InboxTables, define_inbox_tables

COUNTED = "test.counter.incremented.v1"
REFUSED = "test.counter.refused.v1"


@dataclass
class CountingPipeline:
    """Source outbox + target inbox/effects, on real databases."""

    source_url: str
    target_url: str
    source: Engine = field(init=False)
    target: Engine = field(init=False)
    outbox: Table = field(init=False)
    inbox: InboxTables = field(init=False)
    effects: Table = field(init=False)

    def __post_init__(self) -> None:
        source_md, target_md = MetaData(), MetaData()
        self.outbox = define_outbox_table(source_md)
        self.inbox = define_inbox_tables(target_md)
        self.effects = Table("effects", target_md,
                             Column("event_id", String(36), primary_key=True),
                             Column("aggregateid", String(64), nullable=False),
                             Column("sequence", Integer, nullable=False),
                             Column("applied", Integer, nullable=False))
        self.source = make_engine(self.source_url)
        self.target = make_engine(self.target_url)
        source_md.create_all(self.source)
        target_md.create_all(self.target)
        self._writer = OutboxWriter(self.outbox, source="/tests", origin="tests")
        self._sequences: dict[str, int] = {}

    def write(self, count: int, *, aggregates: int = 50, per_transaction: int = 500) -> list[str]:
        """Commit ``count`` events over ``aggregates`` aggregates; returns their ids."""
        ids: list[str] = []
        for start in range(0, count, per_transaction):
            with self.source.begin() as conn:
                for n in range(start, min(count, start + per_transaction)):
                    aggregate = f"agg-{n % aggregates}"
                    sequence = self._sequences.get(aggregate, 0) + 1
                    self._sequences[aggregate] = sequence
                    event = self._writer.write(conn, IntegrationEvent(
                        COUNTED, "counter", aggregate, sequence, {"n": n}))
                    ids.append(event.id)
        return ids

    def applied(self) -> dict[str, int]:
        """How often each event's effect was applied, by event id."""
        with self.target.connect() as conn:
            rows = conn.execute(select(self.effects.c.event_id, self.effects.c.applied))
            return {event_id: applied for event_id, applied in rows}

    def pending(self) -> int:
        """Outbox rows not yet confirmed by the broker."""
        with self.source.connect() as conn:
            query = select(func.count()).select_from(self.outbox).where(
                self.outbox.c.published_at.is_(None))
            return int(conn.scalar(query) or 0)

    def consumer(self, name: str, settings: ConsumerSettings | None = None) -> EventConsumer:
        """The counting consumer on the target database."""
        effects = self.effects

        def count(session: Session, events: Sequence[CloudEvent]) -> None:
            for event in events:
                if event.data.get("refuse"):
                    raise PermanentError("this counter refuses the event")
            session.execute(text(
                f"INSERT INTO {effects.name} (event_id, aggregateid, sequence, applied) "
                "VALUES (:id, :agg, :seq, 1) ON CONFLICT (event_id) "
                f"DO UPDATE SET applied = {effects.name}.applied + 1"),
                [{"id": e.id, "agg": e.subject, "seq": e.aggregatesequence} for e in events])

        return EventConsumer(name, {COUNTED: count}, self.target, self.inbox,
                             settings=settings or ConsumerSettings(), batched=frozenset({COUNTED}))

    def dispose(self) -> None:
        """Close both engines."""
        self.source.dispose()
        self.target.dispose()
