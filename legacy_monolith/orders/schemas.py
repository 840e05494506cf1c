"""Request bodies of the order API."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from legacy_monolith.platform.web import StrictModel


class OrderLineIn(StrictModel):
    """One requested line."""

    product_id: Annotated[str, Field(min_length=1, max_length=36)]
    quantity: Annotated[int, Field(ge=1, le=1000)]


class OrderPlace(StrictModel):
    """``POST /api/orders``."""

    customer_id: Annotated[str, Field(min_length=1, max_length=36)]
    lines: Annotated[list[OrderLineIn], Field(min_length=1, max_length=100)]
