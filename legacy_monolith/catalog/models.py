"""The product aggregate and its rules, mapped to the ``catalog_products`` table."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from legacy_monolith.platform.database import Base
from legacy_monolith.platform.errors import RuleViolation
from strangler_messaging import UtcDateTime, uuid7
from strangler_messaging.sqltypes import utc_now

_CURRENCY = re.compile(r"^[A-Z]{3}$")
MUTABLE_FIELDS = ("sku", "name", "description", "price_cents", "currency", "active")


class Product(Base):
    """Something the Shop sells. ``version`` counts its changes and orders its events."""

    __tablename__ = "catalog_products"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    price_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    active: Mapped[bool]
    version: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    @classmethod
    def create(cls, *, sku: str, name: str, description: str, price_cents: int,
               currency: str, active: bool) -> Product:
        """A new product at version 1."""
        _check_price(price_cents, currency)
        now = utc_now()
        return cls(id=str(uuid7()), sku=sku, name=name, description=description,
                   price_cents=price_cents, currency=currency, active=active, version=1,
                   created_at=now, updated_at=now)

    def snapshot(self) -> dict[str, Any]:
        """The product as the API and every event present it (JSON-ready)."""
        return {
            "id": self.id,
            "sku": self.sku,
            "name": self.name,
            "description": self.description,
            "price_cents": self.price_cents,
            "currency": self.currency,
            "active": self.active,
            "created_at": self.created_at.isoformat(timespec="milliseconds"),
            "updated_at": self.updated_at.isoformat(timespec="milliseconds"),
        }

    def apply(self, changes: dict[str, Any]) -> bool:
        """Apply field changes; bump the version only if something really changed."""
        unknown = set(changes) - set(MUTABLE_FIELDS)
        if unknown:
            raise RuleViolation(f"cannot change {', '.join(sorted(unknown))}")
        _check_price(changes.get("price_cents", self.price_cents),
                     changes.get("currency", self.currency))
        changed = {k: v for k, v in changes.items() if getattr(self, k) != v}
        if not changed:
            return False
        for key, value in changed.items():
            setattr(self, key, value)
        self.version += 1
        self.updated_at = utc_now()
        return True


def _check_price(price_cents: int, currency: str) -> None:
    if price_cents < 0:
        raise RuleViolation("price_cents must not be negative", code="invalid_price")
    if not _CURRENCY.match(currency):
        raise RuleViolation("currency must be an ISO 4217 code such as EUR",
                            code="invalid_currency")
