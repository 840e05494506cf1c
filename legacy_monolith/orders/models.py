"""The order aggregate (an order and its lines), mapped to ``orders_orders``/``orders_lines``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from legacy_monolith.platform.database import Base
from legacy_monolith.platform.errors import Conflict, RuleViolation
from strangler_messaging import UtcDateTime, uuid7
from strangler_messaging.sqltypes import utc_now

PLACED = "placed"
CANCELLED = "cancelled"


class OrderLine(Base):
    """One product in an order, with the name and price it had when ordered."""

    __tablename__ = "orders_lines"

    order_id: Mapped[str] = mapped_column(ForeignKey("orders_orders.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[str] = mapped_column(String(36))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    unit_price_cents: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int]

    def snapshot(self) -> dict[str, Any]:
        """The line as the API and events present it."""
        return {"product_id": self.product_id, "sku": self.sku, "name": self.name,
                "unit_price_cents": self.unit_price_cents, "quantity": self.quantity,
                "line_total_cents": self.unit_price_cents * self.quantity}


class Order(Base):
    """A customer's order; prices are fixed when it is placed."""

    __tablename__ = "orders_orders"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(16))
    total_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    version: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    lines: Mapped[list[OrderLine]] = relationship(
        order_by=OrderLine.position, cascade="all, delete-orphan", lazy="selectin")

    @classmethod
    def place(cls, customer_id: str, requested: list[tuple[str, int]],
              products: dict[str, dict[str, Any]]) -> Order:
        """Price ``(product_id, quantity)`` lines from ``products`` into a new order.

        Raises :class:`RuleViolation` for an unknown or inactive product, a product listed
        twice, or products priced in different currencies.
        """
        if not requested:
            raise RuleViolation("an order needs at least one line", code="empty_order")
        seen: set[str] = set()
        lines = []
        for position, (product_id, quantity) in enumerate(requested, start=1):
            if product_id in seen:
                raise RuleViolation(f"product {product_id} is listed twice",
                                    code="duplicate_product")
            seen.add(product_id)
            product = products.get(product_id)
            if product is None:
                raise RuleViolation(f"product {product_id} does not exist",
                                    code="unknown_product")
            if not product["active"]:
                raise RuleViolation(f"product {product_id} is not for sale",
                                    code="product_inactive")
            lines.append(OrderLine(position=position, product_id=product_id,
                                   sku=product["sku"], name=product["name"],
                                   unit_price_cents=product["price_cents"], quantity=quantity))
        currencies = {products[pid]["currency"] for pid, _ in requested}
        if len(currencies) != 1:
            raise RuleViolation("all products of an order must share one currency",
                                code="mixed_currency")
        now = utc_now()
        return cls(id=str(uuid7()), customer_id=customer_id, status=PLACED,
                   total_cents=sum(line.unit_price_cents * line.quantity for line in lines),
                   currency=currencies.pop(), version=1, created_at=now, updated_at=now,
                   lines=lines)

    def cancel(self) -> None:
        """Cancel a placed order; :class:`Conflict` if it is already cancelled."""
        if self.status != PLACED:
            raise Conflict(f"order {self.id} is {self.status}", code="order_not_cancellable")
        self.status = CANCELLED
        self.version += 1
        self.updated_at = utc_now()

    def stock_lines(self) -> list[tuple[str, int]]:
        """``(sku, units)`` per line, for reserving or releasing stock."""
        return [(line.sku, line.quantity) for line in self.lines]

    def snapshot(self) -> dict[str, Any]:
        """The order as the API and events present it."""
        return {
            "id": self.id,
            "customer_id": self.customer_id,
            "status": self.status,
            "lines": [line.snapshot() for line in self.lines],
            "total_cents": self.total_cents,
            "currency": self.currency,
            "created_at": self.created_at.isoformat(timespec="milliseconds"),
            "updated_at": self.updated_at.isoformat(timespec="milliseconds"),
        }
