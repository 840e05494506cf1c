"""The transactional outbox: events are rows written in the same transaction as the change.

Column names follow Debezium's outbox router (``id``, ``aggregatetype``, ``aggregateid``,
``type``, ``payload``) so that moving from the polling relay to change data capture later is a
configuration change, not a schema change. ``position`` gives rows a total insert order for the
relay; ``published_at`` is set only after the broker has confirmed the message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
    func,
    select,
    text,
)
from sqlalchemy.orm import Session

from strangler_messaging.envelope import CloudEvent, IntegrationEvent
from strangler_messaging.ids import uuid7
from strangler_messaging.sqltypes import UtcDateTime, utc_now
from strangler_messaging.tracing import current_trace

OUTBOX_TABLE = "outbox"


def define_outbox_table(metadata: MetaData, name: str = OUTBOX_TABLE) -> Table:
    """Add the outbox table to ``metadata`` (each database that publishes has its own)."""
    return Table(
        name,
        metadata,
        Column("position", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
               autoincrement=True),
        Column("id", String(36), nullable=False, unique=True),
        Column("aggregatetype", String(64), nullable=False),
        Column("aggregateid", String(128), nullable=False),
        Column("type", String(128), nullable=False),
        Column("sequence", BigInteger, nullable=False),
        Column("payload", Text, nullable=False),
        Column("source", String(255), nullable=False),
        Column("origin", String(64), nullable=False),
        Column("occurred_at", UtcDateTime(), nullable=False),
        Column("traceparent", String(55)),
        Column("tracestate", String(512)),
        Column("resync", Boolean, nullable=False, server_default=false()),
        Column("published_at", UtcDateTime()),
        # The relay's hot query reads only unpublished rows, in insert order.
        Index(
            f"ix_{name}_unpublished",
            "position",
            postgresql_where=text("published_at IS NULL"),
            sqlite_where=text("published_at IS NULL"),
        ),
    )


class OutboxWriter:
    """Turns integration events into outbox rows inside the caller's transaction.

    It never commits: the caller's unit of work does, so the domain rows and their events
    become visible together or not at all.
    """

    def __init__(self, table: Table, *, source: str, origin: str) -> None:
        self._table = table
        self._source = source
        self._origin = origin

    def write(self, db: Session | Connection, event: IntegrationEvent) -> CloudEvent:
        """Stage ``event`` in the current transaction and return its envelope."""
        trace = current_trace()
        envelope = CloudEvent(
            id=str(uuid7()),
            source=self._source,
            type=event.type,
            subject=event.aggregate_id,
            time=utc_now(),
            aggregatetype=event.aggregate_type,
            aggregatesequence=event.sequence,
            origin=self._origin,
            data=event.data,
            traceparent=trace.traceparent if trace else None,
            tracestate=trace.tracestate if trace else None,
            resync=event.resync,
        )
        db.execute(self._table.insert().values(**_row(envelope)))
        return envelope


def _row(event: CloudEvent) -> dict[str, object]:
    return {
        "id": event.id,
        "aggregatetype": event.aggregatetype,
        "aggregateid": event.subject,
        "type": event.type,
        "sequence": event.aggregatesequence,
        "payload": json.dumps(event.data, separators=(",", ":")),
        "source": event.source,
        "origin": event.origin,
        "occurred_at": event.time,
        "traceparent": event.traceparent,
        "tracestate": event.tracestate,
        "resync": event.resync,
    }


def row_to_event(row: object) -> CloudEvent:
    """Rebuild the envelope from an outbox row (what the relay publishes)."""
    mapping = row._mapping  # type: ignore[attr-defined]
    return CloudEvent(
        id=mapping["id"],
        source=mapping["source"],
        type=mapping["type"],
        subject=mapping["aggregateid"],
        time=mapping["occurred_at"],
        aggregatetype=mapping["aggregatetype"],
        aggregatesequence=mapping["sequence"],
        origin=mapping["origin"],
        data=json.loads(mapping["payload"]),
        traceparent=mapping["traceparent"],
        tracestate=mapping["tracestate"],
        resync=bool(mapping["resync"]),
    )


RATE_WINDOW_SECONDS = 60


@dataclass(frozen=True, slots=True)
class OutboxStatus:
    """How far the relay is behind, and how fast events come in and go out."""

    pending: int
    published: int
    oldest_pending_at: datetime | None
    last_published_at: datetime | None
    written_last_minute: int = 0
    published_last_minute: int = 0

    @property
    def write_rate(self) -> float:
        """Events written per second over the last minute."""
        return self.written_last_minute / RATE_WINDOW_SECONDS

    @property
    def publish_rate(self) -> float:
        """Events confirmed by the broker per second over the last minute."""
        return self.published_last_minute / RATE_WINDOW_SECONDS

    def oldest_pending_age_seconds(self, now: datetime | None = None) -> float:
        """Age of the oldest unpublished event; 0 when nothing is pending."""
        if self.oldest_pending_at is None:
            return 0.0
        return max(0.0, ((now or utc_now()) - self.oldest_pending_at).total_seconds())


def outbox_status(db: Session | Connection, table: Table) -> OutboxStatus:
    """Read the outbox backlog in one query."""
    pending = table.c.published_at.is_(None)
    since = utc_now() - timedelta(seconds=RATE_WINDOW_SECONDS)
    query = select(
        func.count().filter(pending),
        func.count().filter(~pending),
        func.min(table.c.occurred_at).filter(pending),
        func.max(table.c.published_at),
        func.count().filter(table.c.occurred_at >= since),
        func.count().filter(table.c.published_at >= since),
    ).select_from(table)
    count_pending, count_published, oldest, last, written, published = db.execute(query).one()
    type_ = UtcDateTime()
    return OutboxStatus(
        pending=count_pending,
        published=count_published,
        oldest_pending_at=_as_utc(type_, oldest, db),
        last_published_at=_as_utc(type_, last, db),
        written_last_minute=written,
        published_last_minute=published,
    )


def _as_utc(type_: UtcDateTime, value: object, db: Session | Connection) -> datetime | None:
    # Aggregates lose the column type on SQLite (min() of a text column is text).
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    dialect = db.get_bind().dialect if isinstance(db, Session) else db.dialect
    return type_.process_result_value(value, dialect)
