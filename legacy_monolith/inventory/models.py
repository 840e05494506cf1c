"""The stock aggregate (one per SKU), mapped to ``inventory_stock``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from legacy_monolith.platform.database import Base
from legacy_monolith.platform.errors import Conflict, RuleViolation
from strangler_messaging import UtcDateTime
from strangler_messaging.sqltypes import utc_now


class StockItem(Base):
    """Units of one SKU available to sell."""

    __tablename__ = "inventory_stock"

    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    quantity: Mapped[int] = mapped_column(BigInteger)
    version: Mapped[int]
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    @classmethod
    def new(cls, sku: str) -> StockItem:
        """An empty stock record (version 0 until its first change)."""
        return cls(sku=sku, quantity=0, version=0, updated_at=utc_now())

    def set_to(self, quantity: int) -> int:
        """Count the stock anew; returns the change in units."""
        if quantity < 0:
            raise RuleViolation("quantity must not be negative", code="invalid_quantity")
        return self._change(quantity - self.quantity)

    def reserve(self, units: int) -> int:
        """Take ``units`` for an order; :class:`Conflict` if fewer are on hand."""
        _check_units(units)
        if units > self.quantity:
            raise Conflict(
                f"only {self.quantity} of {self.sku} in stock, {units} requested",
                code="insufficient_stock",
            )
        return self._change(-units)

    def release(self, units: int) -> int:
        """Put back units of a cancelled order."""
        _check_units(units)
        return self._change(units)

    def _change(self, delta: int) -> int:
        self.quantity += delta
        self.version += 1
        self.updated_at = utc_now()
        return delta

    def snapshot(self) -> dict[str, Any]:
        """The stock record as the API presents it."""
        return {"sku": self.sku, "quantity": self.quantity,
                "updated_at": self.updated_at.isoformat(timespec="milliseconds")}


def _check_units(units: int) -> None:
    if units < 1:
        raise RuleViolation("units must be at least 1", code="invalid_quantity")
