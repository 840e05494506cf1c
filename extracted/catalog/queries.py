"""Reading products from the service's copy, in the monolith's order and page shape."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from extracted.catalog.models import ProductData, snapshot
from extracted.catalog.tables import products
from strangler_messaging.db import READ_ONLY


class ProductQueries:
    """The read side of the catalog: a page of products, one product."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine.execution_options(**{READ_ONLY: True})

    def list_products(self, *, name_contains: str | None, offset: int, limit: int
                      ) -> tuple[list[ProductData], int]:
        """A page of products in creation order ``(created_at, id)``, and the total that match."""
        query = select(products)
        if name_contains:
            query = query.where(
                func.lower(products.c.name).contains(name_contains.lower(), autoescape=True))
        with self._engine.begin() as conn:
            total = conn.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = conn.execute(query.order_by(products.c.created_at, products.c.id)
                                .offset(offset).limit(limit))
            return [snapshot(row._mapping) for row in rows], total

    def get_product(self, product_id: str) -> ProductData | None:
        """One product, or ``None`` if the copy has none with this id."""
        with self._engine.begin() as conn:
            row = conn.execute(select(products).where(products.c.id == product_id)).one_or_none()
            return None if row is None else snapshot(row._mapping)
