"""The customer aggregate, mapped to ``customers_customers``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from legacy_monolith.platform.database import Base
from strangler_messaging import UtcDateTime, uuid7
from strangler_messaging.sqltypes import utc_now


class Customer(Base):
    """A registered customer; the email is unique regardless of case."""

    __tablename__ = "customers_customers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    @classmethod
    def register(cls, *, email: str, name: str) -> Customer:
        """A new customer; the email is stored in lower case."""
        return cls(id=str(uuid7()), email=normalize_email(email), name=name, version=1,
                   created_at=utc_now())

    def snapshot(self) -> dict[str, Any]:
        """The customer as the API and events present it."""
        return {"id": self.id, "email": self.email, "name": self.name,
                "created_at": self.created_at.isoformat(timespec="milliseconds")}


def normalize_email(email: str) -> str:
    """Emails compare case-insensitively."""
    return email.strip().lower()
