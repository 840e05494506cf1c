"""The copy: applies the monolith's ``catalog.product.*`` events to ``catalog_products``.

Created, updated and snapshot events carry a product's full state and upsert it at
``version = aggregatesequence``; a deleted event removes the row. The consumer runtime calls
these handlers inside its transaction, after the inbox has dropped duplicates and events older
than what the copy holds, so a handler only ever moves a product forward. Once the service owns
the writes, its own events come back on the same routing keys: the consumer skips them by
``origin`` (they are already applied).
"""

from __future__ import annotations

from sqlalchemy import Engine, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from extracted.catalog.events import (
    PRODUCT_CREATED,
    PRODUCT_DELETED,
    PRODUCT_SNAPSHOT,
    PRODUCT_UPDATED,
)
from extracted.catalog.models import row_from_state
from extracted.catalog.tables import inbox, products
from strangler_messaging import CloudEvent
from strangler_messaging.consumer import EventConsumer, Handler
from strangler_messaging.schemas import SchemaRegistry

CONSUMER = "catalog"
ORIGIN = "catalog"


def upsert_product(session: Session, event: CloudEvent) -> None:
    """Store the product's full state from ``event.data`` at the event's version."""
    row = row_from_state(event.data, event.aggregatesequence)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(products).values(**row)
    changed = {name: insert.excluded[name] for name in row if name != "id"}
    # The inbox already drops older events; the guard keeps a copy from ever moving backwards
    # even when the inbox has not seen the version the row holds (the service's own writes).
    session.execute(insert.on_conflict_do_update(
        index_elements=["id"], set_=changed,
        where=products.c.version <= insert.excluded.version))


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
    return EventConsumer(CONSUMER, HANDLERS, engine, inbox, schemas=schemas, own_origin=ORIGIN)
