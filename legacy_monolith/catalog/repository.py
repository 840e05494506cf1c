"""Loading and storing products."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from legacy_monolith.catalog.models import Product


class ProductRepository:
    """Products in one session; never commits (the unit of work does)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, product: Product) -> None:
        """Stage a new product and flush it, so a taken SKU fails here, not at commit."""
        self._session.add(product)
        self._session.flush()

    def get(self, product_id: str, *, for_update: bool = False) -> Product | None:
        """One product by id; ``for_update`` locks the row until commit (PostgreSQL)."""
        query = select(Product).where(Product.id == product_id)
        if for_update:
            query = query.with_for_update()
        return self._session.scalars(query).one_or_none()

    def get_by_sku(self, sku: str) -> Product | None:
        """One product by SKU."""
        return self._session.scalars(select(Product).where(Product.sku == sku)).one_or_none()

    def get_many(self, product_ids: Sequence[str]) -> list[Product]:
        """The products among ``product_ids`` that exist."""
        if not product_ids:
            return []
        return list(self._session.scalars(select(Product).where(Product.id.in_(product_ids))))

    def delete(self, product: Product) -> None:
        """Remove a product."""
        self._session.delete(product)
        self._session.flush()

    def page(self, *, name_contains: str | None, offset: int, limit: int
             ) -> tuple[list[Product], int]:
        """A page of products in creation order, and the total that match."""
        query = select(Product)
        if name_contains:
            query = query.where(
                func.lower(Product.name).contains(name_contains.lower(), autoescape=True)
            )
        total = self._session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = self._session.scalars(
            query.order_by(Product.created_at, Product.id).offset(offset).limit(limit)
        )
        return list(rows), total
