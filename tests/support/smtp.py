"""The notification delivery tests' helpers: schema, rows as the consumer writes them, queues."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from pika.adapters.blocking_connection import BlockingChannel
from sqlalchemy import Engine, Row, select, update

from extracted.notifications.tables import deliveries, metadata, notifications
from strangler_cli.databases import DATABASES, upgrade
from strangler_messaging.db import make_engine
from strangler_messaging.sqltypes import utc_now


def delivery_database(url: str, *, migrate: bool = True) -> Engine:
    """An engine on ``url`` with the notifications schema: migrated to head, or (``migrate``
    false, for in-memory SQLite that a migration's own connection would not see) created from
    the tables."""
    if migrate:
        upgrade(DATABASES["notifications"], url)
    engine = make_engine(url)
    if not migrate:
        metadata.create_all(engine)
    return engine


def record_notification(engine: Engine, recipient: str = "ada@example.com", *,
                        subject: str = "Your order is placed",
                        body: str = "Thank you for your order.") -> str:
    """A notification and its pending delivery, in one transaction, as the consumer writes them.

    Returns the notification id.
    """
    notification_id = str(uuid.uuid4())
    now = utc_now()
    with engine.begin() as conn:
        conn.execute(notifications.insert().values(
            id=notification_id, customer_id=str(uuid.uuid4()), kind="order_placed",
            recipient=recipient, subject=subject, body=body, source_event_id=str(uuid.uuid4()),
            created_at=now, origin="notifications"))
        conn.execute(deliveries.insert().values(
            notification_id=notification_id, recipient=recipient, status="pending", attempts=0,
            message_id=message_id_of(notification_id), updated_at=now))
    return notification_id


def message_id_of(notification_id: str) -> str:
    """The Message-ID a notification is sent with."""
    return f"<{notification_id}@notifications.shop.invalid>"


def delivery(engine: Engine, notification_id: str) -> Row[Any]:
    """The delivery row of ``notification_id``."""
    with engine.connect() as conn:
        return conn.execute(select(deliveries).where(
            deliveries.c.notification_id == notification_id)).one()


def age_delivery(engine: Engine, notification_id: str, seconds: float) -> None:
    """Move the delivery's ``updated_at`` (and any lease) ``seconds`` into the past."""
    with engine.begin() as conn:
        row = conn.execute(select(deliveries.c.updated_at, deliveries.c.lease_until).where(
            deliveries.c.notification_id == notification_id)).one()
        shift = timedelta(seconds=seconds)
        conn.execute(update(deliveries).where(
            deliveries.c.notification_id == notification_id).values(
            updated_at=row.updated_at - shift,
            lease_until=None if row.lease_until is None else row.lease_until - shift))


def queue_depth(channel: BlockingChannel, queue: str) -> int:
    """Messages ready in ``queue`` (which must exist)."""
    return int(channel.queue_declare(queue=queue, passive=True).method.message_count)


def dead_lettered_ids(channel: BlockingChannel, queue: str) -> list[str]:
    """The notification ids of the jobs in ``<queue>.XQ`` (read and put back)."""
    ids = []
    for _ in range(queue_depth(channel, f"{queue}.XQ")):
        method, _properties, body = channel.basic_get(f"{queue}.XQ", auto_ack=False)
        if method is None:
            break
        ids.append(json.loads(body)["args"][0])
    channel.basic_nack(delivery_tag=0, multiple=True, requeue=True)
    return ids
