"""Backfill: a context's current state, emitted as snapshot events through the same outbox.

Debezium's incremental snapshot is the model. A :class:`SnapshotSource` reads aggregates in key
order; each chunk is read and written to the outbox in ONE transaction, with the progress, so a
backfill that stops resumes after its last chunk. It runs alongside live traffic: a snapshot
carries the aggregate's current version as its sequence, so a consumer skips it if a live event
already brought that version or a newer one, and a later live event overrides it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import BigInteger, Column, Connection, Engine, MetaData, String, Table, select

from strangler_messaging.envelope import IntegrationEvent
from strangler_messaging.outbox import OutboxWriter
from strangler_messaging.sqltypes import UtcDateTime, utc_now


class SnapshotSource(Protocol):
    """The state of one context, as snapshot events."""

    context: str

    def read_chunk(self, conn: Connection, after: str | None, limit: int
                   ) -> list[tuple[str, IntegrationEvent]]:
        """Up to ``limit`` aggregates whose key sorts after ``after``, in key order."""

    def read_keys(self, conn: Connection, keys: Sequence[str]
                  ) -> list[tuple[str, IntegrationEvent]]:
        """Snapshots of exactly these aggregates (those that exist)."""

    def tombstone(self, key: str, last_sequence: int) -> IntegrationEvent:
        """The event that removes an aggregate a target still holds but the source does not."""


def define_backfill_table(metadata: MetaData) -> Table:
    """Progress of each context's backfill, in the source database."""
    return Table(
        "backfill_progress", metadata,
        Column("context", String(64), primary_key=True),
        Column("last_key", String(128)),
        Column("emitted", BigInteger, nullable=False),
        Column("started_at", UtcDateTime(), nullable=False),
        Column("updated_at", UtcDateTime(), nullable=False),
        Column("finished_at", UtcDateTime()),
    )


@dataclass(frozen=True, slots=True)
class BackfillReport:
    """What one run did."""

    context: str
    emitted: int
    chunks: int
    resumed_after: str | None
    finished: bool


class Backfill:
    """Runs a chunked, resumable backfill of one context."""

    def __init__(self, engine: Engine, source: SnapshotSource, writer: OutboxWriter,
                 progress: Table, *, chunk_size: int = 500, pause: float = 0.0) -> None:
        self._engine = engine
        self._source = source
        self._writer = writer
        self._progress = progress
        self._chunk_size = chunk_size
        self._pause = pause

    def run(self, *, restart: bool = False, max_chunks: int | None = None) -> BackfillReport:
        """Emit chunks until the source is exhausted (or ``max_chunks``); resume by default."""
        resumed_after = self._start(restart)
        after, emitted, chunks = resumed_after, 0, 0
        while max_chunks is None or chunks < max_chunks:
            with self._engine.begin() as conn:
                chunk = self._source.read_chunk(conn, after, self._chunk_size)
                for _key, event in chunk:
                    self._writer.write(conn, event)
                if chunk:
                    after = chunk[-1][0]
                self._save(conn, after, len(chunk), finished=len(chunk) < self._chunk_size)
            emitted += len(chunk)
            chunks += 1
            if len(chunk) < self._chunk_size:
                return BackfillReport(self._source.context, emitted, chunks, resumed_after, True)
            if self._pause:
                time.sleep(self._pause)
        return BackfillReport(self._source.context, emitted, chunks, resumed_after, False)

    def _start(self, restart: bool) -> str | None:
        table = self._progress
        with self._engine.begin() as conn:
            row = conn.execute(select(table).where(table.c.context == self._source.context)
                               .with_for_update()).one_or_none()
            now = utc_now()
            if row is None or restart or row.finished_at is not None:
                if row is not None:
                    conn.execute(table.delete().where(table.c.context == self._source.context))
                conn.execute(table.insert().values(context=self._source.context, last_key=None,
                                                   emitted=0, started_at=now, updated_at=now))
                return None
            return str(row.last_key) if row.last_key is not None else None

    def _save(self, conn: Connection, last_key: str | None, emitted: int, *,
              finished: bool) -> None:
        table = self._progress
        now = utc_now()
        conn.execute(table.update().where(table.c.context == self._source.context).values(
            last_key=last_key, emitted=table.c.emitted + emitted, updated_at=now,
            finished_at=now if finished else None))
