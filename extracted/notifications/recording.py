"""The service's reaction to the Shop's events: one notification per causing event it owns.

The ``notifications`` consumer applies, inside its inbox transaction:

- ``customers.customer.registered``: keep the recipient's address (always);
- ``customers.customer.registered``, ``orders.order.placed``, ``orders.order.cancelled``: the
  causing events;
- ``notifications.handling.decided``: the monolith's decision about one causing event, made in
  the transaction that published it from its ``notifications`` ownership row;
- ``notifications.notification.recorded`` from the monolith: a copy of what the monolith
  recorded (history the API lists; never sent from here).

A causing event and its decision meet in ``notifications_pending`` (either may arrive first);
when both are there and the decision names this service, the notification is recorded. So each
event is notified by exactly one side, however the switch-over (``strangler ownership move
notifications``) and the event stream interleave: the decision is made once, atomically with the
event. The recording writes a pending delivery and publishes ``notification.recorded`` through
the outbox; its email goes out as a dramatiq job enqueued once the transaction has committed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, select
from sqlalchemy import event as orm_events
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from extracted.notifications import messages
from extracted.notifications.tables import (
    deliveries,
    inbox,
    notifications,
    outbox,
    ownership,
    pending,
    recipients,
)
from strangler_messaging import CloudEvent, IntegrationEvent, OutboxWriter, uuid7
from strangler_messaging.consumer import EventConsumer, Handler
from strangler_messaging.ownership import WriteOwnership
from strangler_messaging.schemas import SchemaRegistry
from strangler_messaging.sqltypes import utc_now

log = logging.getLogger(__name__)

CONSUMER = "notifications"
ORIGIN = "notifications"
CONTEXT = "notifications"
LEGACY_OWNER = "monolith"

CUSTOMER_REGISTERED = "customers.customer.registered.v1"
ORDER_PLACED = "orders.order.placed.v1"
ORDER_CANCELLED = "orders.order.cancelled.v1"
NOTIFICATION_RECORDED = "notifications.notification.recorded.v1"
HANDLING_DECIDED = "notifications.handling.decided.v1"
TRIGGERS = (CUSTOMER_REGISTERED, ORDER_PLACED, ORDER_CANCELLED)

Enqueue = Callable[[Sequence[str]], None]
"""Sends the delivery jobs of freshly recorded notifications (after commit)."""

_TO_SEND = "notifications.to_send"
_LISTENING = "notifications.listening"
_RENDER = {
    CUSTOMER_REGISTERED: (messages.WELCOME, messages.welcome),
    ORDER_PLACED: (messages.ORDER_PLACED, messages.order_placed),
    ORDER_CANCELLED: (messages.ORDER_CANCELLED, messages.order_cancelled),
}


def write_ownership() -> WriteOwnership:
    """The ``notifications`` ownership row, seen from this service."""
    return WriteOwnership(ownership, CONTEXT, me=ORIGIN, default_owner=LEGACY_OWNER)


def message_id(notification_id: str) -> str:
    """The email's Message-ID: the send's dedup key, visible to any receiver."""
    return f"<{notification_id}@notifications.shop.invalid>"


def snapshot(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A notification as the API lists it and events carry it (the monolith's shape)."""
    return {"id": row["id"], "customer_id": row["customer_id"], "kind": row["kind"],
            "recipient": row["recipient"], "subject": row["subject"], "body": row["body"],
            "created_at": row["created_at"].isoformat(timespec="milliseconds")}


class Recorder:
    """The handlers of the ``notifications`` consumer."""

    def __init__(self, enqueue: Enqueue, *, source: str = "/shop/notifications") -> None:
        self._enqueue = enqueue
        self._outbox = OutboxWriter(outbox, source=source, origin=ORIGIN)

    def handlers(self) -> dict[str, Handler]:
        """Event type -> handler."""
        return {CUSTOMER_REGISTERED: self.customer_registered, ORDER_PLACED: self.causing_event,
                ORDER_CANCELLED: self.causing_event, HANDLING_DECIDED: self.decided,
                NOTIFICATION_RECORDED: self.copy_recorded}

    def customer_registered(self, session: Session, event: CloudEvent) -> None:
        """Remember where to reach the customer; then it is a causing event like the others."""
        data = event.data
        row = {"customer_id": data["id"], "email": data["email"], "name": data["name"]}
        insert = _dialect(session).insert(recipients).values(**row)
        session.execute(insert.on_conflict_do_update(
            index_elements=["customer_id"], set_={"email": row["email"], "name": row["name"]}))
        self.causing_event(session, event)

    def causing_event(self, session: Session, event: CloudEvent) -> None:
        """Record now if the decision is already here and names us; else wait for it."""
        waiting = self._pending(session, event.id)
        if waiting is None:
            session.execute(pending.insert().values(
                event_id=event.id, event_type=event.type, data=json.dumps(dict(event.data)),
                received_at=utc_now()))
            return
        self._settle(session, event.id, event.type, dict(event.data), waiting.handled_by)

    def decided(self, session: Session, event: CloudEvent) -> None:
        """Record now if the causing event is already here and the decision names us."""
        cause, handled_by = str(event.data["event_id"]), str(event.data["handled_by"])
        waiting = self._pending(session, cause)
        if waiting is None:
            session.execute(pending.insert().values(
                event_id=cause, event_type=event.data["event_type"], handled_by=handled_by,
                received_at=utc_now()))
            return
        if waiting.data is None:
            return  # a redelivered decision: the first one is already waiting
        self._settle(session, cause, waiting.event_type, json.loads(waiting.data), handled_by)

    def copy_recorded(self, session: Session, event: CloudEvent) -> None:
        """Keep a notification the monolith recorded (it sent it; history only)."""
        data = event.data
        row = {**{k: data[k] for k in ("id", "customer_id", "kind", "recipient", "subject",
                                       "body")},
               "created_at": datetime.fromisoformat(data["created_at"]),
               "source_event_id": None, "origin": event.origin}
        session.execute(_dialect(session).insert(notifications).values(**row)
                        .on_conflict_do_nothing(index_elements=["id"]))

    @staticmethod
    def _pending(session: Session, event_id: str) -> Any:
        return session.execute(select(pending).where(pending.c.event_id == event_id)
                               .with_for_update()).one_or_none()

    def _settle(self, session: Session, event_id: str, event_type: str, data: dict[str, Any],
                handled_by: str | None) -> None:
        session.execute(delete(pending).where(pending.c.event_id == event_id))
        if handled_by == ORIGIN:
            self._record(session, event_id, event_type, data)

    def _record(self, session: Session, event_id: str, event_type: str,
                data: dict[str, Any]) -> None:
        kind, render = _RENDER[event_type]
        subject, body = render(data)
        customer_id = str(data["id"] if event_type == CUSTOMER_REGISTERED
                          else data["customer_id"])
        email = session.scalar(select(recipients.c.email).where(
            recipients.c.customer_id == customer_id))
        now = utc_now()
        notification_id = str(uuid7())
        row: dict[str, Any] = {
            "id": notification_id, "customer_id": customer_id, "kind": kind, "recipient": email,
            "subject": subject, "body": body, "source_event_id": event_id, "created_at": now,
            "origin": ORIGIN}
        session.execute(notifications.insert().values(**row))
        self._outbox.write(session, IntegrationEvent(NOTIFICATION_RECORDED, "notification",
                                                     notification_id, 1, snapshot(row)))
        if email is None:
            return  # nobody to send to, as in the monolith: recorded, not delivered
        session.execute(deliveries.insert().values(
            notification_id=notification_id, recipient=email, status="pending", attempts=0,
            message_id=message_id(notification_id), updated_at=now))
        self._after_commit(session).append(notification_id)

    def _after_commit(self, session: Session) -> list[str]:
        if not session.info.get(_LISTENING):
            session.info[_LISTENING] = True
            orm_events.listen(session, "after_commit", self._send_recorded)
            orm_events.listen(session, "after_soft_rollback", _forget)
        ids: list[str] = session.info.setdefault(_TO_SEND, [])
        return ids

    def _send_recorded(self, session: Session) -> None:
        ids = session.info.pop(_TO_SEND, [])
        if not ids:
            return
        try:
            self._enqueue(ids)
        except Exception:
            # Recorded and committed: the worker's sweeper re-sends jobs for deliveries left
            # pending, so a broker hiccup here delays the emails, it does not lose them.
            log.exception("enqueueing %d delivery job(s) failed; the sweeper will retry",
                          len(ids))


def _forget(session: Session, _previous: object) -> None:
    session.info.pop(_TO_SEND, None)


def _dialect(session: Session) -> Any:
    return postgresql if session.get_bind().dialect.name == "postgresql" else sqlite


def notifications_consumer(engine: Engine, enqueue: Enqueue,
                           schemas: SchemaRegistry | None = None) -> EventConsumer:
    """The ``notifications`` consumer: causing events, decisions, the monolith's recordings."""
    return EventConsumer(CONSUMER, Recorder(enqueue).handlers(), engine, inbox,
                         schemas=schemas, own_origin=ORIGIN)
