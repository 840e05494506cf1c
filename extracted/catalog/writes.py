"""The write half of the catalog: create, change and delete products, once the service owns them.

Each write is one transaction on the service's database: the ownership guard first (a side
that does not own the writes changes nothing), then the product row, then its event in the
outbox. The rules are the monolith's: a taken SKU is a conflict, an update that changes nothing
publishes nothing, the version counts changes and orders events.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update

from extracted.catalog import events
from extracted.catalog.models import ProductData, snapshot
from extracted.catalog.tables import outbox, ownership, products
from strangler_messaging import OutboxWriter, uuid7
from strangler_messaging.ownership import WriteOwnership
from strangler_messaging.sqltypes import utc_now

CONTEXT = "catalog"
ORIGIN = "catalog"
LEGACY_OWNER = "monolith"
MUTABLE_FIELDS = ("sku", "name", "description", "price_cents", "currency", "active")


class ProductNotFound(LookupError):
    """No product has this id."""

    def __init__(self, product_id: str) -> None:
        super().__init__(f"product {product_id} does not exist")


class SkuTaken(Exception):
    """Another product already uses this SKU."""

    def __init__(self, sku: str) -> None:
        super().__init__(f"SKU {sku} is already used by another product")


def write_ownership() -> WriteOwnership:
    """The catalog context's ownership row, seen from this service."""
    return WriteOwnership(ownership, CONTEXT, me=ORIGIN, default_owner=LEGACY_OWNER)


def claim_writes(engine: Engine) -> None:
    """Make this service the write owner outright (tests, contract provider states).

    A real cutover goes through ``strangler ownership move``, which fences the other side and
    drains the sync first.
    """
    rows = write_ownership()
    with engine.begin() as conn:
        current = rows.read(conn)
        if current.owner != ORIGIN:
            rows.hand_over(conn, to=ORIGIN, epoch=current.epoch + 1)


class ProductWrites:
    """The product commands; every one publishes its event through the service's outbox."""

    def __init__(self, engine: Engine, *, source: str = "/shop/catalog") -> None:
        self._engine = engine
        self._ownership = write_ownership()
        self._outbox = OutboxWriter(outbox, source=source, origin=ORIGIN)

    def create_product(self, fields: Mapping[str, Any]) -> ProductData:
        """Add a product at version 1; :class:`SkuTaken` if its SKU is in use."""
        with self._engine.begin() as conn:
            self._ownership.guard(conn)
            _ensure_sku_free(conn, fields["sku"])
            now = utc_now()
            row = {"id": str(uuid7()), **{k: fields[k] for k in MUTABLE_FIELDS}, "version": 1,
                   "created_at": now, "updated_at": now}
            conn.execute(insert(products).values(**row))
            state = snapshot(row)
            self._outbox.write(conn, events.product_created(state, 1))
            return state

    def update_product(self, product_id: str, changes: Mapping[str, Any]) -> ProductData:
        """Change some or all fields; publishes an update only if something changed."""
        with self._engine.begin() as conn:
            self._ownership.guard(conn)
            row = _locked(conn, product_id)
            changed = {k: v for k, v in changes.items() if row[k] != v}
            if not changed:
                return snapshot(row)
            if "sku" in changed:
                _ensure_sku_free(conn, changed["sku"])
            new = {**row, **changed, "version": row["version"] + 1, "updated_at": utc_now()}
            conn.execute(update(products).where(products.c.id == product_id).values(
                **changed, version=new["version"], updated_at=new["updated_at"]))
            state = snapshot(new)
            self._outbox.write(conn, events.product_updated(state, new["version"]))
            return state

    def delete_product(self, product_id: str) -> None:
        """Remove a product; its deleted event is ordered after every update."""
        with self._engine.begin() as conn:
            self._ownership.guard(conn)
            row = _locked(conn, product_id)
            conn.execute(delete(products).where(products.c.id == product_id))
            deleted_at = utc_now().isoformat(timespec="milliseconds")
            self._outbox.write(conn, events.product_deleted(product_id, row["sku"],
                                                            row["version"] + 1, deleted_at))


def _locked(conn: Connection, product_id: str) -> dict[str, Any]:
    row = conn.execute(select(products).where(products.c.id == product_id)
                       .with_for_update()).one_or_none()
    if row is None:
        raise ProductNotFound(product_id)
    return dict(row._mapping)


def _ensure_sku_free(conn: Connection, sku: str) -> None:
    if conn.execute(select(products.c.id).where(products.c.sku == sku)).first() is not None:
        raise SkuTaken(sku)
