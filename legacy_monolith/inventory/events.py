"""Integration events the inventory module publishes (schemas in ``contracts/events/``)."""

from __future__ import annotations

from legacy_monolith.inventory.models import StockItem
from strangler_messaging import IntegrationEvent

STOCK_CHANGED = "inventory.stock.changed.v1"
REASONS = ("set", "reserved", "released")


def stock_changed(item: StockItem, *, delta: int, reason: str) -> IntegrationEvent:
    """The on-hand quantity of a SKU changed (``reason`` says why)."""
    return IntegrationEvent(STOCK_CHANGED, "stock", item.sku, item.version,
                            {**item.snapshot(), "delta": delta, "reason": reason})
