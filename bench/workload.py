"""A realistic messaging workload: the catalog's ``catalog.product.updated.v1`` events.

Every event carries a product's full state (~300 bytes of ``data``) and a W3C trace context,
over :data:`AGGREGATES` products, exactly as the monolith's outbox holds them. The same rows
feed the outbox backlog, the messages published straight to the broker, and the source
database the lag writer updates; the read model in ``views`` is what a consumer keeps.
"""

from __future__ import annotations

import json
import os
import types
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel
from sqlalchemy import Engine, MetaData, Table, text

from strangler_messaging import define_outbox_table, uuid7
from strangler_messaging.envelope import CONTENT_TYPE
from strangler_messaging.outbox_store import envelope_json
from strangler_messaging.sqltypes import utc_now

EVENT_TYPE = "catalog.product.updated.v1"
AGGREGATE = "product"
SOURCE = "/shop/monolith"
ORIGIN = "monolith"
AGGREGATES = 1000
_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
_WORDS = ("stainless", "travel", "mug", "insulated", "bamboo", "lid", "espresso", "grinder",
          "ceramic", "pour-over", "kettle", "gooseneck", "filter", "paper", "glass", "carafe")


def product_id(n: int) -> str:
    """The id of product ``n`` (stable within a process, UUIDv7-shaped like the Shop's)."""
    return _PRODUCT_IDS[n % AGGREGATES]


_PRODUCT_IDS = [str(uuid7()) for _ in range(AGGREGATES)]


def product_state(n: int, version: int, updated_at: datetime | None = None) -> dict[str, Any]:
    """Product ``n``'s full state at ``version``, as the catalog's events carry it."""
    words = " ".join(_WORDS[(n + i * 7) % len(_WORDS)] for i in range(4))
    updated = updated_at or _EPOCH + timedelta(seconds=version)
    return {
        "id": product_id(n),
        "sku": f"SKU-{n:06d}",
        "name": f"{words.title()} {n:04d}",
        "description": f"A {words} for everyday use, dishwasher safe, with a two-year warranty.",
        "price_cents": 1000 + (n * 37 + version * 11) % 9000,
        "currency": "EUR",
        "active": version % 17 != 0,
        "created_at": _EPOCH.isoformat(timespec="milliseconds"),
        "updated_at": updated.isoformat(timespec="milliseconds"),
    }


def traceparent() -> str:
    """A fresh, sampled W3C ``traceparent``."""
    return f"00-{os.urandom(16).hex()}-{os.urandom(8).hex()}-01"


def outbox_rows(count: int, *, first_version: int = 2) -> Iterator[dict[str, Any]]:
    """``count`` outbox rows, round robin over the products, versions ascending."""
    now = utc_now()
    for i in range(count):
        n, version = i % AGGREGATES, first_version + i // AGGREGATES
        yield {"id": str(uuid7()), "aggregatetype": AGGREGATE, "aggregateid": product_id(n),
               "type": EVENT_TYPE, "sequence": version,
               "payload": json.dumps(product_state(n, version), separators=(",", ":")),
               "source": SOURCE, "origin": ORIGIN, "occurred_at": now,
               "traceparent": traceparent(), "tracestate": None}


def outbox_table() -> Table:
    """A fresh outbox table definition (its own metadata)."""
    return define_outbox_table(MetaData())


def fill_outbox(engine: Engine, table: Table, count: int, *, chunk: int = 5000) -> None:
    """Create ``table`` if needed, empty it and insert a backlog of ``count`` rows."""
    table.metadata.create_all(engine)
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {table.name} RESTART IDENTITY") if postgres
                      else table.delete())
    rows = outbox_rows(count)
    while batch := list(islice(rows, chunk)):
        with engine.begin() as conn:
            conn.execute(table.insert(), batch)
    if postgres:  # a backlog that grew over time would have been autovacuumed
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"VACUUM ANALYZE {table.name}"))


@dataclass(frozen=True, slots=True)
class Envelope:
    """A message exactly as the relay would publish it."""

    id: str
    type: str
    traceparent: str
    body: bytes


def envelopes(count: int) -> list[Envelope]:
    """``count`` messages built by the relay's own serialiser from :func:`outbox_rows`."""
    made = []
    for row in outbox_rows(count):
        body = envelope_json(_RowLike(**row))  # type: ignore[arg-type]
        made.append(Envelope(row["id"], row["type"], row["traceparent"], body))
    return made


class _RowLike(types.SimpleNamespace):
    """An outbox row for the relay's serialiser; columns it does not set read as ``None``."""

    def __getattr__(self, name: str) -> None:
        return None


def properties_of(message: Envelope) -> pika.BasicProperties:
    """The AMQP properties the relay sets: persistent, content type, id, type, trace."""
    return pika.BasicProperties(
        content_type=CONTENT_TYPE, delivery_mode=2, message_id=message.id, type=message.type,
        headers={"traceparent": message.traceparent})


def publish(channel: BlockingChannel, exchange: str, messages: Sequence[Envelope]) -> None:
    """Publish like the relay (persistent, ``mandatory``, same properties), without confirms."""
    for message in messages:
        channel.basic_publish(exchange, message.type, message.body, properties_of(message),
                              mandatory=True)
