"""Request bodies of the customer API."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from legacy_monolith.platform.web import StrictModel


class CustomerRegister(StrictModel):
    """``POST /api/customers``."""

    email: Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    name: Annotated[str, Field(min_length=1, max_length=200)]
