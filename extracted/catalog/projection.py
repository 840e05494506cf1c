"""The read copy: applies the monolith's ``catalog.product.*`` events to ``catalog_products``.

Created, updated and snapshot events carry a product's full state and upsert it at
``version = aggregatesequence``; a deleted event removes the row. The consumer runtime calls
these handlers inside its transaction, after the inbox has dropped duplicates and events older
than what the copy holds, so a handler only ever moves a product forward.
"""

from __future__ import annotations

from sqlalchemy import Engine, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from extracted.catalog.models import row_from_state
from extracted.catalog.tables import inbox, products
from strangler_messaging import CloudEvent
from strangler_messaging.consumer import EventConsumer, Handler
from strangler_messaging.schemas import SchemaRegistry

CONSUMER = "catalog"
PRODUCT_CREATED = "catalog.product.created.v1"
PRODUCT_UPDATED = "catalog.product.updated.v1"
PRODUCT_DELETED = "catalog.product.deleted.v1"
PRODUCT_SNAPSHOT = "catalog.product.snapshot.v1"


def upsert_product(session: Session, event: CloudEvent) -> None:
    """Store the product's full state from ``event.data`` at the event's version."""
    row = row_from_state(event.data, event.aggregatesequence)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(products).values(**row)
    changed = {name: insert.excluded[name] for name in row if name != "id"}
    session.execute(insert.on_conflict_do_update(index_elements=["id"], set_=changed))


def remove_product(session: Session, event: CloudEvent) -> None:
    """Forget a product the monolith deleted (nothing to do if the copy never had it)."""
    session.execute(delete(products).where(products.c.id == event.subject))


HANDLERS: dict[str, Handler] = {
    PRODUCT_CREATED: upsert_product,
    PRODUCT_UPDATED: upsert_product,
    PRODUCT_SNAPSHOT: upsert_product,
    PRODUCT_DELETED: remove_product,
}


def catalog_consumer(engine: Engine, schemas: SchemaRegistry | None = None) -> EventConsumer:
    """The ``catalog`` consumer: keeps this service's copy from the product events."""
    return EventConsumer(CONSUMER, HANDLERS, engine, inbox, schemas=schemas)
