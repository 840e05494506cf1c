"""Request bodies of the product write API: the monolith's rules, field for field.

The service may not import the monolith, so the rules are restated here; the Pact contracts
(verified against both sides in one run) are what keeps the two in step.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator

from strangler_http.web import StrictModel

Sku = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Description = Annotated[str, Field(max_length=5000)]
PriceCents = Annotated[int, Field(ge=0, le=1_000_000_000_00)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class ProductCreate(StrictModel):
    """``POST /api/products``."""

    sku: Sku
    name: Name
    description: Description = ""
    price_cents: PriceCents
    currency: Currency
    active: bool = True


class ProductReplace(StrictModel):
    """``PUT /api/products/{id}``: every field, as a full replacement."""

    sku: Sku
    name: Name
    description: Description
    price_cents: PriceCents
    currency: Currency
    active: bool


class ProductPatch(StrictModel):
    """``PATCH /api/products/{id}``: any subset of the fields; ``null`` is not a value."""

    sku: Sku | None = None
    name: Name | None = None
    description: Description | None = None
    price_cents: PriceCents | None = None
    currency: Currency | None = None
    active: bool | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _reject_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("must not be null")
        return value
