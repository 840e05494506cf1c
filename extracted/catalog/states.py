"""The service's side of a catalog reconcile: (id, version, digest) of its copy, in id order.

Digests hash the same public shape the monolith hashes (``Product.snapshot()``), so a product
copied faithfully has the same digest on both sides.
"""

from __future__ import annotations

from sqlalchemy import Engine, select

from extracted.catalog.models import snapshot
from extracted.catalog.tables import products
from strangler_messaging.reconcile import StateDigest, digest_of


class ProductCopyStates:
    """A :class:`~strangler_messaging.reconcile.StateReader` over ``catalog_products``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def read(self, after: str | None, limit: int) -> list[StateDigest]:
        """Up to ``limit`` products with an id after ``after``."""
        query = select(products).order_by(products.c.id).limit(limit)
        if after is not None:
            query = query.where(products.c.id > after)
        with self._engine.connect() as conn:
            return [StateDigest(row.id, row.version, digest_of(snapshot(row._mapping)))
                    for row in conn.execute(query)]
