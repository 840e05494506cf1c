"""The catalog's public commands and queries.

Results are JSON-ready dicts in the public API's shape: the same thing an HTTP client of the
extracted catalog service returns, so callers do not change when the catalog moves out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from legacy_monolith.catalog import events
from legacy_monolith.catalog.models import MUTABLE_FIELDS, Product
from legacy_monolith.catalog.ownership import catalog_write_ownership
from legacy_monolith.catalog.repository import ProductRepository
from legacy_monolith.platform.errors import Conflict, NotFound
from legacy_monolith.platform.unit_of_work import UnitOfWorkFactory
from strangler_messaging.ownership import WriteOwnership
from strangler_messaging.sqltypes import utc_now

ProductData = dict[str, Any]


class CatalogFacade:
    """Create, change, delete and find products.

    Writes first check that the monolith owns the catalog's writes
    (:class:`~strangler_messaging.ownership.NotWriteOwner` otherwise, nothing changed).
    """

    def __init__(self, uow: UnitOfWorkFactory, ownership: WriteOwnership | None = None) -> None:
        self._uow = uow
        self._ownership = ownership or catalog_write_ownership()

    def list_products(self, *, name_contains: str | None, offset: int, limit: int
                      ) -> tuple[list[ProductData], int]:
        """A page of products (creation order) and the number that match."""
        with self._uow.read() as session:
            products, total = ProductRepository(session).page(
                name_contains=name_contains, offset=offset, limit=limit)
            return [p.snapshot() for p in products], total

    def get_product(self, product_id: str) -> ProductData:
        """One product; :class:`NotFound` if there is none."""
        with self._uow.read() as session:
            return _found(ProductRepository(session).get(product_id), product_id).snapshot()

    def find_products(self, product_ids: Sequence[str]) -> dict[str, ProductData]:
        """The products that exist among ``product_ids``, by id (unknown ids are left out)."""
        with self._uow.read() as session:
            return {p.id: p.snapshot() for p in ProductRepository(session).get_many(product_ids)}

    def create_product(self, fields: Mapping[str, Any]) -> ProductData:
        """Add a product; :class:`Conflict` (``sku_taken``) if its SKU is in use."""
        with self._uow() as uow:
            self._ownership.guard(uow.session)
            repo = ProductRepository(uow.session)
            _ensure_sku_free(repo, fields["sku"])
            product = Product.create(**{k: fields[k] for k in MUTABLE_FIELDS})
            repo.add(product)
            uow.publish(events.product_created(product))
            uow.commit()
            return product.snapshot()

    def update_product(self, product_id: str, changes: Mapping[str, Any]) -> ProductData:
        """Change some or all fields; publishes an update only if something changed."""
        with self._uow() as uow:
            self._ownership.guard(uow.session)
            repo = ProductRepository(uow.session)
            product = _found(repo.get(product_id, for_update=True), product_id)
            if "sku" in changes and changes["sku"] != product.sku:
                _ensure_sku_free(repo, changes["sku"])
            if product.apply(dict(changes)):
                uow.session.flush()
                uow.publish(events.product_updated(product))
            uow.commit()
            return product.snapshot()

    def delete_product(self, product_id: str) -> None:
        """Remove a product; orders keep their own copy of what they bought."""
        with self._uow() as uow:
            self._ownership.guard(uow.session)
            repo = ProductRepository(uow.session)
            product = _found(repo.get(product_id, for_update=True), product_id)
            event = events.product_deleted(product, utc_now().isoformat(timespec="milliseconds"))
            repo.delete(product)
            uow.publish(event)
            uow.commit()


def _found(product: Product | None, product_id: str) -> Product:
    if product is None:
        raise NotFound(f"product {product_id} does not exist", code="product_not_found")
    return product


def _ensure_sku_free(repo: ProductRepository, sku: str) -> None:
    if repo.get_by_sku(sku) is not None:
        raise Conflict(f"SKU {sku} is already used by another product", code="sku_taken")
