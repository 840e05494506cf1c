"""Integration events the catalog publishes (schemas in ``contracts/events/``).

Created and updated events carry the product's full state, so a consumer can build its own
copy from events alone; ``sequence`` is the product's version after the change.
"""

from __future__ import annotations

from legacy_monolith.catalog.models import Product
from strangler_messaging import IntegrationEvent

AGGREGATE = "product"
PRODUCT_CREATED = "catalog.product.created.v1"
PRODUCT_UPDATED = "catalog.product.updated.v1"
PRODUCT_DELETED = "catalog.product.deleted.v1"
PRODUCT_SNAPSHOT = "catalog.product.snapshot.v1"


def product_created(product: Product) -> IntegrationEvent:
    """A product now exists."""
    return IntegrationEvent(PRODUCT_CREATED, AGGREGATE, product.id, product.version,
                            product.snapshot())


def product_updated(product: Product) -> IntegrationEvent:
    """A product changed; ``data`` is its full new state."""
    return IntegrationEvent(PRODUCT_UPDATED, AGGREGATE, product.id, product.version,
                            product.snapshot())


def product_deleted(product: Product, deleted_at: str) -> IntegrationEvent:
    """A product is gone; its last version plus one orders this after every update."""
    return IntegrationEvent(PRODUCT_DELETED, AGGREGATE, product.id, product.version + 1,
                            {"id": product.id, "sku": product.sku, "deleted_at": deleted_at})


def product_snapshot(product: Product) -> IntegrationEvent:
    """A product's current state, not caused by a change (backfill, reconcile)."""
    return IntegrationEvent(PRODUCT_SNAPSHOT, AGGREGATE, product.id, product.version,
                            product.snapshot())
