"""The inventory module's public commands and queries (JSON-ready results)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from legacy_monolith.inventory import events
from legacy_monolith.inventory.models import StockItem
from legacy_monolith.platform.errors import NotFound
from legacy_monolith.platform.unit_of_work import UnitOfWork, UnitOfWorkFactory

StockLine = tuple[str, int]
"""A SKU and a number of units."""


class InventoryFacade:
    """Count, reserve and release stock."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def get_stock(self, sku: str) -> dict[str, Any]:
        """The stock of one SKU; :class:`NotFound` if it was never counted."""
        with self._uow.read() as session:
            item = session.get(StockItem, sku)
            if item is None:
                raise NotFound(f"no stock record for {sku}", code="stock_not_found")
            return item.snapshot()

    def set_stock(self, sku: str, quantity: int) -> dict[str, Any]:
        """Set the on-hand quantity (a stock count); creates the record if needed."""
        with self._uow() as uow:
            item = _locked(uow.session, sku) or _added(uow.session, StockItem.new(sku))
            if item.version == 0 or item.quantity != quantity:
                delta = item.set_to(quantity)
                _publish(uow, item, delta, "set")
            uow.commit()
            return item.snapshot()

    def reserve(self, lines: Sequence[StockLine]) -> None:
        """Reserve every line or none (:class:`Conflict` ``insufficient_stock``)."""
        with self._uow() as uow:
            for sku, units in _in_lock_order(lines):
                item = _locked(uow.session, sku) or StockItem.new(sku)
                delta = item.reserve(units)
                _publish(uow, item, delta, "reserved")
            uow.commit()

    def release(self, lines: Sequence[StockLine]) -> None:
        """Return reserved units to stock."""
        with self._uow() as uow:
            for sku, units in _in_lock_order(lines):
                item = _locked(uow.session, sku) or _added(uow.session, StockItem.new(sku))
                delta = item.release(units)
                _publish(uow, item, delta, "released")
            uow.commit()


def _locked(session: Session, sku: str) -> StockItem | None:
    query = select(StockItem).where(StockItem.sku == sku).with_for_update()
    return session.scalars(query).one_or_none()


def _added(session: Session, item: StockItem) -> StockItem:
    session.add(item)
    return item


def _in_lock_order(lines: Sequence[StockLine]) -> list[StockLine]:
    # Two orders locking the same SKUs in different orders would deadlock on PostgreSQL.
    merged: dict[str, int] = {}
    for sku, units in lines:
        merged[sku] = merged.get(sku, 0) + units
    return sorted(merged.items())


def _publish(uow: UnitOfWork, item: StockItem, delta: int, reason: str) -> None:
    uow.session.flush()
    uow.publish(events.stock_changed(item, delta=delta, reason=reason))
