"""The product events, as the service publishes them once it owns the writes.

They are the monolith's events, unchanged: the same types, the same full-state ``data``, the
same ``aggregatesequence`` (the product's version, continuing where the monolith stopped). Only
``source`` and ``origin`` say that the catalog service wrote them. Anyone who consumed product
events before the cutover keeps consuming them after it.
"""

from __future__ import annotations

from strangler_messaging import IntegrationEvent

AGGREGATE = "product"
PRODUCT_CREATED = "catalog.product.created.v1"
PRODUCT_UPDATED = "catalog.product.updated.v1"
PRODUCT_DELETED = "catalog.product.deleted.v1"
PRODUCT_SNAPSHOT = "catalog.product.snapshot.v1"

ProductState = dict[str, object]


def product_created(state: ProductState, version: int) -> IntegrationEvent:
    """A product now exists; ``state`` is its public shape."""
    return IntegrationEvent(PRODUCT_CREATED, AGGREGATE, str(state["id"]), version, state)


def product_updated(state: ProductState, version: int) -> IntegrationEvent:
    """A product changed; ``state`` is its full new shape."""
    return IntegrationEvent(PRODUCT_UPDATED, AGGREGATE, str(state["id"]), version, state)


def product_deleted(product_id: str, sku: str, version: int, deleted_at: str
                    ) -> IntegrationEvent:
    """A product is gone; ``version`` is its last version plus one."""
    return IntegrationEvent(PRODUCT_DELETED, AGGREGATE, product_id, version,
                            {"id": product_id, "sku": sku, "deleted_at": deleted_at})
