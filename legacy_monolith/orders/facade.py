"""The orders module's public commands and queries (JSON-ready results)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from legacy_monolith.orders import events
from legacy_monolith.orders.models import Order
from legacy_monolith.orders.ports import CustomerDirectory, ProductCatalog, StockKeeper
from legacy_monolith.platform.errors import NotFound, RuleViolation
from legacy_monolith.platform.unit_of_work import UnitOfWorkFactory


class OrdersFacade:
    """Place, cancel and find orders."""

    def __init__(self, uow: UnitOfWorkFactory, *, customers: CustomerDirectory,
                 catalog: ProductCatalog, stock: StockKeeper) -> None:
        self._uow = uow
        self._customers = customers
        self._catalog = catalog
        self._stock = stock

    def place_order(self, customer_id: str, lines: list[tuple[str, int]]) -> dict[str, Any]:
        """Price the lines from the catalog, reserve stock and record the order, atomically."""
        with self._uow() as uow:
            if not self._customers.exists(customer_id):
                raise RuleViolation(f"customer {customer_id} does not exist",
                                    code="unknown_customer")
            products = self._catalog.find_products([product_id for product_id, _ in lines])
            order = Order.place(customer_id, lines, products)
            self._stock.reserve(order.stock_lines())
            uow.session.add(order)
            uow.session.flush()
            uow.publish(events.order_placed(order))
            uow.commit()
            return order.snapshot()

    def cancel_order(self, order_id: str) -> dict[str, Any]:
        """Cancel an order and put its units back in stock."""
        with self._uow() as uow:
            order = _found(uow.session.scalars(
                select(Order).where(Order.id == order_id).with_for_update()).one_or_none(),
                order_id)
            order.cancel()
            self._stock.release(order.stock_lines())
            uow.session.flush()
            uow.publish(events.order_cancelled(order))
            uow.commit()
            return order.snapshot()

    def get_order(self, order_id: str) -> dict[str, Any]:
        """One order; :class:`NotFound` if there is none."""
        with self._uow.read() as session:
            return _found(session.get(Order, order_id), order_id).snapshot()

    def list_orders(self, customer_id: str, *, offset: int, limit: int
                    ) -> tuple[list[dict[str, Any]], int]:
        """A customer's orders, oldest first, and how many there are."""
        with self._uow.read() as session:
            mine = Order.customer_id == customer_id
            total = session.scalar(select(func.count()).select_from(Order).where(mine)) or 0
            orders = session.scalars(select(Order).where(mine)
                                     .order_by(Order.created_at, Order.id)
                                     .offset(offset).limit(limit))
            return [order.snapshot() for order in orders], total


def _found(order: Order | None, order_id: str) -> Order:
    if order is None:
        raise NotFound(f"order {order_id} does not exist", code="order_not_found")
    return order
