"""Reverse sync: keeps the monolith's products current once the catalog service owns them.

After the write cutover the service publishes the product events; the monolith's ``monolith``
consumer applies them here, so orders go on pricing from the monolith's own table. The rows
change without the monolith publishing anything (the service already did): nothing echoes.
Events the monolith wrote itself come back on the same routing keys and are skipped by
``origin``; the inbox's sequence check and the version guard below drop anything older than
what the table holds.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Engine, Table, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from legacy_monolith.catalog import events
from legacy_monolith.catalog.models import Product
from legacy_monolith.platform.database import inbox
from strangler_messaging import CloudEvent
from strangler_messaging.consumer import EventConsumer, Handler
from strangler_messaging.schemas import SchemaRegistry

CONSUMER = "monolith"
ORIGIN = "monolith"
_PRODUCTS = cast(Table, Product.__table__)
_STATE = ("id", "sku", "name", "description", "price_cents", "currency", "active")


def upsert_product(session: Session, event: CloudEvent) -> None:
    """Store the product's full state from ``event.data`` at the event's version."""
    row = {name: event.data[name] for name in _STATE}
    row["created_at"] = datetime.fromisoformat(event.data["created_at"])
    row["updated_at"] = datetime.fromisoformat(event.data["updated_at"])
    row["version"] = event.aggregatesequence
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(_PRODUCTS).values(**row)
    session.execute(insert.on_conflict_do_update(
        index_elements=["id"], set_={k: insert.excluded[k] for k in row if k != "id"},
        where=_PRODUCTS.c.version <= insert.excluded.version))


def remove_product(session: Session, event: CloudEvent) -> None:
    """Forget a product the service deleted (older than the delete, by construction)."""
    session.execute(delete(_PRODUCTS).where(_PRODUCTS.c.id == event.subject,
                                            _PRODUCTS.c.version < event.aggregatesequence))


HANDLERS: dict[str, Handler] = {
    events.PRODUCT_CREATED: upsert_product,
    events.PRODUCT_UPDATED: upsert_product,
    events.PRODUCT_SNAPSHOT: upsert_product,
    events.PRODUCT_DELETED: remove_product,
}


def monolith_consumer(engine: Engine, schemas: SchemaRegistry | None = None) -> EventConsumer:
    """The ``monolith`` consumer: the catalog service's product events into the monolith."""
    return EventConsumer(CONSUMER, HANDLERS, engine, inbox, schemas=schemas, own_origin=ORIGIN)
