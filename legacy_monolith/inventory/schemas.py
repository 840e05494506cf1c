"""Request bodies of the inventory API."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from legacy_monolith.platform.web import StrictModel


class StockSet(StrictModel):
    """``PUT /api/inventory/{sku}``: the counted quantity."""

    quantity: Annotated[int, Field(ge=0, le=1_000_000_000)]
