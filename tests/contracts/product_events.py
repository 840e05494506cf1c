"""The product event messages both directions of the catalog sync rely on.

Each message is the whole CloudEvent document the relay publishes (structured mode,
``application/cloudevents+json``) with the AMQP ``type`` property as metadata. The consumer
side parses it with the messaging library and applies it with the consumer's real handlers
to a real database; the example is also checked against the event's JSON Schema, so a pact
cannot expect what the contract files forbid.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pact import Pact, match
from sqlalchemy import Engine, Table, select
from sqlalchemy.orm import Session

from strangler_contracts.provider import (
    PRODUCT_CREATED,
    PRODUCT_DELETED,
    PRODUCT_UPDATED,
    describe,
)
from strangler_contracts.states import NO_PRODUCT, PRODUCT_EXISTS
from strangler_messaging import CloudEvent
from strangler_messaging.consumer import Handler
from strangler_messaging.envelope import CONTENT_TYPE
from tests.contracts.matchers import product, timestamp, uuid7
from tests.support.contracts import event_validator

EVENT_ID = "0193a1b2-1111-7000-8000-000000000001"
NEW_PRODUCT_ID = "0193a1b2-2222-7000-8000-000000000001"
MUG = {"id": "0193a1b2-0000-7000-8000-000000000011", "sku": "MUG-001", "price_cents": 1250}
STATE_FIELDS = ("id", "sku", "name", "description", "price_cents", "currency", "active",
                "created_at", "updated_at")


@dataclass(frozen=True)
class Producer:
    """Who publishes the events: its pact name, and the envelope's ``origin`` and ``source``."""

    provider: str
    origin: str
    source: str


MONOLITH = Producer("monolith", "monolith", "/shop/monolith")
CATALOG = Producer("catalog", "catalog", "/shop/catalog")


def envelope(producer: Producer, event_type: str, subject: Any, sequence: int,
             data: Mapping[str, Any], aggregatetype: str = "product",
             event_id: str = EVENT_ID) -> dict[str, Any]:
    """The whole CloudEvent as the relay publishes it: the producer's ``source`` and
    ``origin`` and the given attributes exactly, its id and time by pattern."""
    return {"specversion": "1.0", "id": uuid7(event_id), "source": producer.source,
            "type": event_type, "subject": subject, "time": timestamp(),
            "datacontenttype": "application/json", "aggregatetype": aggregatetype,
            "aggregatesequence": match.int(sequence), "origin": producer.origin, "data": data}


def declare_created(pact: Pact, producer: Producer) -> None:
    """A product was created (the SKU given by the state; the id is the producer's)."""
    new_id = uuid7(NEW_PRODUCT_ID)
    body = envelope(producer, PRODUCT_CREATED, new_id, 1, product(new_id, "LAMP-001"))
    (pact.upon_receiving(describe(PRODUCT_CREATED), "Async")
     .given(NO_PRODUCT, sku="LAMP-001")
     .with_body(body, CONTENT_TYPE).with_metadata({"type": PRODUCT_CREATED}))


def declare_updated(pact: Pact, producer: Producer) -> None:
    """An existing product changed: the event carries its whole new state."""
    body = envelope(producer, PRODUCT_UPDATED, MUG["id"], 2, product(MUG["id"], MUG["sku"]))
    (pact.upon_receiving(describe(PRODUCT_UPDATED), "Async")
     .given(PRODUCT_EXISTS, **MUG)
     .with_body(body, CONTENT_TYPE).with_metadata({"type": PRODUCT_UPDATED}))


def declare_deleted(pact: Pact, producer: Producer) -> None:
    """An existing product was deleted, ordered after its last version."""
    data = {"id": MUG["id"], "sku": match.str(MUG["sku"]), "deleted_at": timestamp()}
    body = envelope(producer, PRODUCT_DELETED, MUG["id"], 2, data)
    (pact.upon_receiving(describe(PRODUCT_DELETED), "Async")
     .given(PRODUCT_EXISTS, **MUG)
     .with_body(body, CONTENT_TYPE).with_metadata({"type": PRODUCT_DELETED}))


DECLARATIONS: dict[str, Callable[[Pact, Producer], None]] = {
    PRODUCT_CREATED: declare_created, PRODUCT_UPDATED: declare_updated,
    PRODUCT_DELETED: declare_deleted}


def applying(handlers: Mapping[str, Handler], engine: Engine, products: Table
             ) -> Callable[[str | bytes | None, dict[str, object]], None]:
    """The consumer side of a message: parse, check, apply with ``handlers``, check the row."""

    def handle(body: str | bytes | None, metadata: dict[str, object]) -> None:
        assert body is not None, "the message has no body"
        event_validator(json.loads(body)["type"]).validate(json.loads(body))
        event = CloudEvent.from_json(body)
        assert metadata.get("type") == event.type, metadata
        if event.type == PRODUCT_DELETED:
            _store_version_one(engine, products, event.subject)
        with Session(engine) as session, session.begin():
            handlers[event.type](session, event)
        row = stored(engine, products, event.subject)
        if event.type == PRODUCT_DELETED:
            assert row is None, f"product {event.subject} survived its deleted event"
        else:
            assert row == {**event.data, "version": event.aggregatesequence}, row

    return handle


def stored(engine: Engine, products: Table, product_id: str) -> dict[str, Any] | None:
    """A product row in the public shape plus ``version``, or None."""
    with engine.connect() as conn:
        row = conn.execute(select(products).where(products.c.id == product_id)).one_or_none()
    if row is None:
        return None
    values = {name: row._mapping[name] for name in (*STATE_FIELDS, "version")}
    return {name: value.isoformat(timespec="milliseconds") if isinstance(value, datetime)
            else value for name, value in values.items()}


def _store_version_one(engine: Engine, products: Table, product_id: str) -> None:
    at = datetime.fromisoformat("2026-01-02T03:04:05.678+00:00")
    with engine.begin() as conn:
        conn.execute(products.insert().values(
            id=product_id, sku=MUG["sku"], name="Blue Mug", description="", price_cents=1250,
            currency="EUR", active=True, version=1, created_at=at, updated_at=at))
