"""Request bodies of the inventory API."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from legacy_monolith.platform.web import StrictModel

SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
"""The catalog's SKU rule; stock is kept only for SKUs a product could have."""


class StockSet(StrictModel):
    """``PUT /api/inventory/{sku}``: the counted quantity."""

    quantity: Annotated[int, Field(ge=0, le=1_000_000_000)]
