"""Integration events the orders module publishes (schemas in ``contracts/events/``)."""

from __future__ import annotations

from legacy_monolith.orders.models import Order
from strangler_messaging import IntegrationEvent

ORDER_PLACED = "orders.order.placed.v1"
ORDER_CANCELLED = "orders.order.cancelled.v1"


def order_placed(order: Order) -> IntegrationEvent:
    """An order was placed; ``data`` is the whole order."""
    return IntegrationEvent(ORDER_PLACED, "order", order.id, order.version, order.snapshot())


def order_cancelled(order: Order) -> IntegrationEvent:
    """An order was cancelled and its stock released; ``data`` is the whole order."""
    return IntegrationEvent(ORDER_CANCELLED, "order", order.id, order.version, order.snapshot())
