"""The notifications service's schema.

- ``notifications_recipients``: where to reach each customer (from registration events);
- ``notifications_notifications``: the monolith's columns, plus ``origin`` -- ``notifications``
  for what this service recorded (and sends), ``monolith`` for the copies of what the monolith
  recorded before the switch-over (history for the API; never sent from here);
- ``notifications_deliveries``: one row per notification this service sends; the send's
  dedup key and its state (``pending`` -> ``sending`` under a lease -> ``sent`` | ``failed``);
- ``notifications_pending``: the two halves of a decision that have not met yet -- a causing
  event waiting for the monolith's ``handling.decided`` event about it, or a decision waiting
  for its event (each arrives first sometimes);
- the inbox it consumes through, the outbox it publishes ``notification.recorded`` through,
  and the write-ownership row (``strangler ownership show notifications``).
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, MetaData, String, Table, Text

from strangler_messaging import UtcDateTime, define_outbox_table
from strangler_messaging.db import NAMING_CONVENTION
from strangler_messaging.inbox import define_inbox_tables
from strangler_messaging.ownership import define_ownership_table

metadata = MetaData(naming_convention=NAMING_CONVENTION)

recipients = Table(
    "notifications_recipients", metadata,
    Column("customer_id", String(36), primary_key=True),
    Column("email", String(254), nullable=False),
    Column("name", String(200), nullable=False),
)

notifications = Table(
    "notifications_notifications", metadata,
    Column("id", String(36), primary_key=True),
    Column("customer_id", String(36), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("recipient", String(254)),
    Column("subject", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("source_event_id", String(36), unique=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("origin", String(32), nullable=False),
)

deliveries = Table(
    "notifications_deliveries", metadata,
    Column("notification_id", String(36), primary_key=True),
    Column("recipient", String(254), nullable=False),
    Column("status", String(16), nullable=False),  # pending, sending, sent, failed
    Column("attempts", Integer, nullable=False),
    Column("lease_until", UtcDateTime()),
    Column("last_error", Text),
    Column("message_id", String(128), nullable=False),
    Column("sent_at", UtcDateTime()),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_notifications_deliveries_status", "status", "updated_at"),
)

pending = Table(
    "notifications_pending", metadata,
    Column("event_id", String(36), primary_key=True),
    Column("event_type", String(128), nullable=False),
    Column("data", Text),  # the causing event's data as JSON, once it has arrived
    Column("handled_by", String(32)),  # the decision, once it has arrived
    Column("received_at", UtcDateTime(), nullable=False),
)

inbox = define_inbox_tables(metadata)
outbox = define_outbox_table(metadata)
ownership = define_ownership_table(metadata)

__all__ = ["deliveries", "inbox", "metadata", "notifications", "outbox", "ownership",
           "pending", "recipients"]
