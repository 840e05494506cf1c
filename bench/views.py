"""Both ends of the pipe: the monolith's products + outbox, and a service's read model.

:class:`SourceShop` commits one product change and its event per transaction, as the catalog
does. :class:`ReadModel` is a consumer's database: the inbox tables, ``product_view`` (one row
per product, upserted per event, with ``applied_count`` so exactly-once can be checked) and,
for the lag measurement, ``applied_log`` (when each event was applied).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from bench.workload import AGGREGATE, AGGREGATES, EVENT_TYPE, ORIGIN, SOURCE, product_id
from bench.workload import product_state as state_of
from strangler_messaging import CloudEvent, IntegrationEvent, OutboxWriter, define_outbox_table
from strangler_messaging.consumer import EventConsumer
from strangler_messaging.db import make_engine
from strangler_messaging.inbox import define_inbox_tables
from strangler_messaging.schemas import SchemaRegistry
from strangler_messaging.sqltypes import UtcDateTime, utc_now
from strangler_messaging.tracing import TraceContext, use_trace

CONTRACTS = Path(__file__).resolve().parents[1] / "contracts" / "events"

UPSERT = text(
    "INSERT INTO product_view (id, sku, name, description, price_cents, currency, active, "
    "version, applied_count, applied_at) VALUES (:id, :sku, :name, :description, :price_cents, "
    ":currency, :active, :version, 1, :at) ON CONFLICT (id) DO UPDATE SET sku = excluded.sku, "
    "name = excluded.name, description = excluded.description, "
    "price_cents = excluded.price_cents, currency = excluded.currency, "
    "active = excluded.active, version = excluded.version, "
    "applied_count = product_view.applied_count + 1, applied_at = excluded.applied_at")
LOG_APPLIED = text(
    "INSERT INTO applied_log (event_id, applied_at, applied) VALUES (:event_id, :at, 1) "
    "ON CONFLICT (event_id) DO UPDATE SET applied = applied_log.applied + 1")


class SourceShop:
    """The monolith's side: ``products`` and the outbox in one database."""

    def __init__(self, url: str) -> None:
        metadata = MetaData()
        self.outbox = define_outbox_table(metadata)
        self.products = Table(
            "products", metadata,
            Column("id", String(36), primary_key=True),
            Column("sku", String(64), nullable=False),
            Column("price_cents", BigInteger, nullable=False),
            Column("version", Integer, nullable=False),
            Column("updated_at", UtcDateTime(), nullable=False))
        self.engine = make_engine(url)
        metadata.create_all(self.engine)
        self._writer = OutboxWriter(self.outbox, source=SOURCE, origin=ORIGIN)

    def seed(self) -> None:
        """Every product at version 1."""
        now = utc_now()
        with self.engine.begin() as conn:
            conn.execute(insert(self.products), [
                {"id": product_id(n), "sku": f"SKU-{n:06d}", "price_cents": 1000, "version": 1,
                 "updated_at": now} for n in range(AGGREGATES)])

    def change(self, n: int) -> str:
        """One unit of work: bump product ``n`` and stage its event; returns the event id."""
        products = self.products
        now = utc_now()
        with use_trace(TraceContext.new_root()), self.engine.begin() as conn:
            version = conn.execute(
                update(products).where(products.c.id == product_id(n))
                .values(version=products.c.version + 1, updated_at=now,
                        price_cents=1000 + (products.c.version * 11) % 9000)
                .returning(products.c.version)).scalar_one()
            event = self._writer.write(conn, IntegrationEvent(
                EVENT_TYPE, AGGREGATE, product_id(n), version, state_of(n, version, now)))
        return event.id

    def pending(self) -> int:
        """Outbox rows not yet confirmed by the broker."""
        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(self.outbox).where(
                self.outbox.c.published_at.is_(None))) or 0)


class ReadModel:
    """A consumer's database: inbox, ``product_view`` and ``applied_log``."""

    def __init__(self, url: str) -> None:
        metadata = MetaData()
        self.inbox = define_inbox_tables(metadata)
        self.view = Table(
            "product_view", metadata,
            Column("id", String(36), primary_key=True),
            Column("sku", String(64), nullable=False),
            Column("name", String(200), nullable=False),
            Column("description", Text, nullable=False),
            Column("price_cents", BigInteger, nullable=False),
            Column("currency", String(3), nullable=False),
            Column("active", Boolean, nullable=False),
            Column("version", BigInteger, nullable=False),
            Column("applied_count", Integer, nullable=False),
            Column("applied_at", Float, nullable=False))
        self.log = Table(
            "applied_log", metadata,
            Column("event_id", String(36), primary_key=True),
            Column("applied_at", Float, nullable=False),
            Column("applied", Integer, nullable=False))
        self.engine = make_engine(url)
        metadata.create_all(self.engine)
        self.schemas = SchemaRegistry.from_directory(CONTRACTS)

    def reset(self) -> None:
        """Empty every table (between two measurements)."""
        with self.engine.begin() as conn:
            conn.execute(text("TRUNCATE inbox, inbox_aggregates, product_view, applied_log"))

    def consumer(self, name: str, *, batched: bool, log_applied: bool = False) -> EventConsumer:
        """The catalog view consumer: schema-checked, inbox + sequence check, one upsert each.

        ``batched`` applies a run of events with one ``executemany``; otherwise one statement
        per event. ``log_applied`` also records each event's wall-clock apply time.
        """
        def apply_batch(session: Session, events: Sequence[CloudEvent]) -> None:
            at = time.time()
            session.execute(UPSERT, [view_params(e, at) for e in events])
            if log_applied:
                session.execute(LOG_APPLIED, [{"event_id": e.id, "at": at} for e in events])

        def apply_one(session: Session, event: CloudEvent) -> None:
            at = time.time()
            session.execute(UPSERT, view_params(event, at))
            if log_applied:
                session.execute(LOG_APPLIED, {"event_id": event.id, "at": at})

        return EventConsumer(name, {EVENT_TYPE: apply_batch if batched else apply_one},
                             self.engine, self.inbox, schemas=self.schemas,
                             batched=frozenset({EVENT_TYPE}) if batched else frozenset())

    def totals(self) -> dict[str, int]:
        """What was applied: inbox outcomes, upserts, products, their versions, mismatches."""
        inbox, view = self.inbox.events, self.view
        with self.engine.connect() as conn:
            outcomes: dict[str, int] = {outcome: int(n) for outcome, n in conn.execute(
                select(inbox.c.outcome, func.count()).group_by(inbox.c.outcome))}
            applied, products, versions = conn.execute(select(
                func.coalesce(func.sum(view.c.applied_count), 0), func.count(),
                func.coalesce(func.sum(view.c.version), 0))).one()
            sequences = self.inbox.aggregates
            behind = conn.scalar(select(func.count()).select_from(view.join(
                sequences, sequences.c.aggregateid == view.c.id)).where(
                view.c.version != sequences.c.sequence))
        return {"inbox_applied": int(outcomes.get("applied", 0)),
                "inbox_other": sum(n for k, n in outcomes.items() if k != "applied"),
                "upserts": int(applied), "products": int(products), "version_sum": int(versions),
                "behind": int(behind or 0)}

    def applied_log(self) -> dict[str, tuple[float, int]]:
        """``event_id -> (applied_at, times applied)``."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(self.log.c.event_id, self.log.c.applied_at,
                                       self.log.c.applied))
            return {event_id: (at, times) for event_id, at, times in rows}

    def dispose(self) -> None:
        """Close the engine."""
        self.engine.dispose()


def view_params(event: CloudEvent | Any, at: float) -> dict[str, Any]:
    """The upsert's parameters for one event (a :class:`CloudEvent` or a decoded dict)."""
    data = event.data if isinstance(event, CloudEvent) else event["data"]
    version = (event.aggregatesequence if isinstance(event, CloudEvent)
               else event["aggregatesequence"])
    return {"id": data["id"], "sku": data["sku"], "name": data["name"],
            "description": data["description"], "price_cents": data["price_cents"],
            "currency": data["currency"], "active": data["active"], "version": version,
            "at": at}
