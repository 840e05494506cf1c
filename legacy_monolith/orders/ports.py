"""What the orders module needs from the rest of the Shop, declared by orders itself."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class CustomerDirectory(Protocol):
    """Knows which customers exist."""

    def exists(self, customer_id: str) -> bool:
        """Whether the customer is registered."""


class ProductCatalog(Protocol):
    """Knows products and their current prices."""

    def find_products(self, product_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Products by id, in the public API's shape; unknown ids are left out."""


class StockKeeper(Protocol):
    """Holds stock for orders."""

    def reserve(self, lines: Sequence[tuple[str, int]]) -> None:
        """Reserve all ``(sku, units)`` lines or raise and reserve none."""

    def release(self, lines: Sequence[tuple[str, int]]) -> None:
        """Return units to stock."""
