"""What every backend under verification offers the verifier, and how its events are made.

A backend runs for real on a fresh SQLite database of its own: its HTTP app on a loopback
port, a state handler writing its own tables, and message producers that make each event the
way production does -- a write through the backend's own write path, then the outbox row it
committed, serialised exactly as the relay publishes it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pact.types import Message
from sqlalchemy import Engine, Table, select

from strangler_contracts.states import NO_PRODUCT, PRODUCT_EXISTS, StateHandler, state_params
from strangler_messaging.envelope import CONTENT_TYPE
from strangler_messaging.outbox_store import envelope_json

PRODUCT_CREATED = "catalog.product.created.v1"
PRODUCT_UPDATED = "catalog.product.updated.v1"
PRODUCT_DELETED = "catalog.product.deleted.v1"

MessageProducer = Callable[..., Message]

NEW_PRODUCT = {"name": "Desk Lamp", "description": "A lamp for a desk", "price_cents": 4500,
               "currency": "EUR", "active": True}
"""What the producer of a created event creates (the SKU comes from the state)."""


def describe(event_type: str) -> str:
    """The pact description of the message carrying one ``event_type`` event."""
    return f"a {event_type} event"


@dataclass(frozen=True, slots=True)
class RunningProvider:
    """A backend up for verification."""

    backend: str
    base_url: str
    states: StateHandler
    producers: Mapping[str, MessageProducer]
    """Pact description -> the producer of that message (none for a backend whose events no
    consumer pact names)."""


class ProductWrites(Protocol):
    """A backend's product write path: the monolith's facade, or the service's writes."""

    def create_product(self, fields: Mapping[str, Any], /) -> Any:
        """Create a product and stage its created event."""

    def update_product(self, product_id: str, changes: Mapping[str, Any], /) -> Any:
        """Change a product and stage its updated event."""

    def delete_product(self, product_id: str, /) -> Any:
        """Delete a product and stage its deleted event."""


def product_event_producers(writes: ProductWrites, engine: Engine,
                            outbox: Table) -> dict[str, MessageProducer]:
    """Producers of the three product events, each a real write through ``writes``."""

    def created(metadata: dict[str, Any] | None = None) -> Message:
        sku = state_params(metadata, NO_PRODUCT).get("sku", "LAMP-001")
        writes.create_product({"sku": sku, **NEW_PRODUCT})
        return newest_event(engine, outbox)

    def updated(metadata: dict[str, Any] | None = None) -> Message:
        product = state_params(metadata, PRODUCT_EXISTS)
        writes.update_product(product["id"],
                                {"price_cents": int(product.get("price_cents", 1000)) + 100})
        return newest_event(engine, outbox)

    def deleted(metadata: dict[str, Any] | None = None) -> Message:
        writes.delete_product(state_params(metadata, PRODUCT_EXISTS)["id"])
        return newest_event(engine, outbox)

    return {describe(PRODUCT_CREATED): created, describe(PRODUCT_UPDATED): updated,
            describe(PRODUCT_DELETED): deleted}


def newest_event(engine: Engine, outbox: Table, event_type: str | None = None) -> Message:
    """The newest outbox row (of ``event_type``, if given) as the relay publishes it (body and
    AMQP ``type``)."""
    query = select(outbox).order_by(outbox.c.position.desc()).limit(1)
    if event_type is not None:
        query = query.where(outbox.c.type == event_type)
    with engine.connect() as conn:
        row = conn.execute(query).one()
    return Message(contents=envelope_json(row), content_type=CONTENT_TYPE,
                   metadata={"type": row.type})
