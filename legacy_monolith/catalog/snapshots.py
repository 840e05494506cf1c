"""The catalog's state as snapshot events, for backfill and reconcile repairs."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Engine, select

from legacy_monolith.catalog import events
from legacy_monolith.catalog.models import Product
from strangler_messaging import IntegrationEvent
from strangler_messaging.reconcile import StateDigest, digest_of
from strangler_messaging.sqltypes import utc_now

_COLUMNS = Product.__table__.c


class ProductSnapshots:
    """Products in id order, as ``catalog.product.snapshot.v1`` events."""

    context = "catalog"

    def read_chunk(self, conn: Connection, after: str | None, limit: int
                   ) -> list[tuple[str, IntegrationEvent]]:
        """Up to ``limit`` products with an id after ``after``."""
        query = select(Product.__table__).order_by(_COLUMNS.id).limit(limit)
        if after is not None:
            query = query.where(_COLUMNS.id > after)
        return [(row.id, events.product_snapshot(_product(row))) for row in conn.execute(query)]

    def read_keys(self, conn: Connection, keys: Sequence[str]
                  ) -> list[tuple[str, IntegrationEvent]]:
        """Snapshots of these products (those that exist)."""
        if not keys:
            return []
        query = select(Product.__table__).where(_COLUMNS.id.in_(list(keys)))
        return [(row.id, events.product_snapshot(_product(row))) for row in conn.execute(query)]

    def tombstone(self, key: str, last_sequence: int) -> IntegrationEvent:
        """A delete for a product the source no longer has."""
        return IntegrationEvent(events.PRODUCT_DELETED, events.AGGREGATE, key, last_sequence + 1,
                                {"id": key, "sku": None,
                                 "deleted_at": utc_now().isoformat(timespec="milliseconds")})


def _product(row: object) -> Product:
    mapping = row._mapping  # type: ignore[attr-defined]
    return Product(**{column.key: mapping[column.key] for column in _COLUMNS})


class ProductStates:
    """The monolith's side of a catalog reconcile: (id, version, digest) in id order."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def read(self, after: str | None, limit: int) -> list[StateDigest]:
        """Up to ``limit`` products with an id after ``after``."""
        query = select(Product.__table__).order_by(_COLUMNS.id).limit(limit)
        if after is not None:
            query = query.where(_COLUMNS.id > after)
        with self._engine.connect() as conn:
            return [StateDigest(row.id, row.version, digest_of(_product(row).snapshot()))
                    for row in conn.execute(query)]
