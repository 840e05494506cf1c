"""Notifications and the recipients they go to, mapped to ``notifications_*`` tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from legacy_monolith.platform.database import Base
from strangler_messaging import UtcDateTime


class Recipient(Base):
    """Where to reach a customer, kept from ``customers.customer.registered`` events."""

    __tablename__ = "notifications_recipients"

    customer_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))


class Notification(Base):
    """One message to a customer, recorded once per causing event."""

    __tablename__ = "notifications_notifications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    source_event_id: Mapped[str] = mapped_column(String(36), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    def snapshot(self) -> dict[str, Any]:
        """The notification as the API and events present it."""
        return {"id": self.id, "customer_id": self.customer_id, "kind": self.kind,
                "recipient": self.recipient, "subject": self.subject, "body": self.body,
                "created_at": self.created_at.isoformat(timespec="milliseconds")}
