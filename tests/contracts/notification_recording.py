"""The notifications service's side of the monolith's messages: its real handlers
(``Recorder(enqueue).handlers()``) applied to a real notifications database, and the rows they
must leave there.

A causing event waits for its decision, and a decision for its event (ADR 0009), so each
message is applied together with its partner, built from the same examples: a causing event is
followed by a decision naming the service; a decision is preceded by the event it is about.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Engine, Table, select
from sqlalchemy.orm import Session

from extracted.notifications.recording import NOTIFICATION_RECORDED, Recorder
from extracted.notifications.tables import deliveries, notifications, outbox, pending, recipients
from strangler_contracts.notification_events import (
    CUSTOMER_REGISTERED,
    HANDLING_DECIDED,
    ORDER_CANCELLED,
    ORDER_PLACED,
)
from strangler_messaging import CloudEvent
from strangler_messaging.outbox import row_to_event
from tests.contracts.notification_messages import (
    CUSTOMER,
    ORDER_ID,
    example_cause,
    example_decision,
)
from tests.support.contracts import event_validator

SERVICE = "notifications"
EXPECTED = {
    CUSTOMER_REGISTERED: ("welcome", "Welcome to the Shop", "Hello Ann, your account is ready."),
    ORDER_PLACED: ("order_placed", f"Order {ORDER_ID} confirmed",
                   "We received your order of 2 item(s), total 5.00 EUR."),
    ORDER_CANCELLED: ("order_cancelled", f"Order {ORDER_ID} cancelled",
                      "Your order of 5.00 EUR was cancelled."),
}
"""Kind, subject and body of the notification each example causing event calls for."""


class NotificationsDatabase:
    """A notifications database and the service's real handlers, enqueueing into a list."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.jobs: list[list[str]] = []
        """The notification ids of each enqueue call (made after a commit)."""
        self._handlers = Recorder(self._enqueue).handlers()

    def _enqueue(self, ids: Sequence[str]) -> None:
        self.jobs.append(list(ids))

    def apply(self, event: CloudEvent) -> None:
        """Apply ``event`` in one transaction, as the consumer does inside its inbox's."""
        with Session(self.engine) as session, session.begin():
            self._handlers[event.type](session, event)

    def knows(self, customer_id: str) -> None:
        """The service has seen ``customer_id`` register (so an order has a recipient)."""
        with self.engine.begin() as conn:
            conn.execute(recipients.insert().values(
                customer_id=customer_id, email=CUSTOMER["email"], name=CUSTOMER["name"]))

    def rows(self, table: Table) -> list[dict[str, Any]]:
        """Every row of ``table``."""
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(select(table))]


def receiving(db: NotificationsDatabase) -> Callable[[str | bytes | None, dict[str, Any]], None]:
    """The consumer side of a message: check it, apply it with its partner, check the rows."""

    def handle(body: str | bytes | None, metadata: dict[str, Any]) -> None:
        assert body is not None, "the message has no body"
        event_validator(json.loads(body)["type"]).validate(json.loads(body))
        event = CloudEvent.from_json(body)
        assert metadata.get("type") == event.type, metadata
        if event.type == HANDLING_DECIDED:
            cause = example_cause(str(event.data["event_type"]), str(event.data["event_id"]))
            _arrange(db, cause)
            db.apply(cause)
            db.apply(event)
            assert_settled(db, cause, str(event.data["handled_by"]))
            return
        _arrange(db, event)
        db.apply(event)
        assert [row["event_id"] for row in db.rows(pending)] == [event.id], "not waiting"
        assert db.rows(notifications) == [], "recorded before its decision"
        db.apply(example_decision(event, SERVICE))
        assert_settled(db, event, SERVICE)

    return handle


def _arrange(db: NotificationsDatabase, cause: CloudEvent) -> None:
    if cause.type != CUSTOMER_REGISTERED:
        db.knows(str(cause.data["customer_id"]))


def assert_settled(db: NotificationsDatabase, cause: CloudEvent, handled_by: str) -> None:
    """``cause`` met its decision: one notification recorded, delivered and announced if the
    decision named the service, nothing at all otherwise."""
    assert db.rows(pending) == [], "the event and its decision did not meet"
    if cause.type == CUSTOMER_REGISTERED:
        assert [(r["customer_id"], r["email"], r["name"]) for r in db.rows(recipients)] == [
            (cause.data["id"], cause.data["email"], cause.data["name"])]
    if handled_by != SERVICE:
        assert db.rows(notifications) == [] and db.rows(deliveries) == []
        assert db.rows(outbox) == [] and db.jobs == []
        return
    [row] = db.rows(notifications)
    customer = cause.data["id"] if cause.type == CUSTOMER_REGISTERED else cause.data["customer_id"]
    assert (row["kind"], row["subject"], row["body"]) == EXPECTED[cause.type]
    assert (row["customer_id"], row["recipient"], row["source_event_id"], row["origin"]) == (
        customer, CUSTOMER["email"], cause.id, SERVICE)
    assert [(d["notification_id"], d["recipient"], d["status"])
            for d in db.rows(deliveries)] == [(row["id"], CUSTOMER["email"], "pending")]
    with db.engine.connect() as conn:
        [recorded] = [row_to_event(r) for r in conn.execute(select(outbox))]
    event_validator(NOTIFICATION_RECORDED).validate(recorded)
    assert (recorded.data["id"], recorded.data["kind"]) == (row["id"], row["kind"])
    assert db.jobs == [[row["id"]]], "the delivery job was not enqueued once committed"
