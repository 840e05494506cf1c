"""The monolith's messages the notifications service relies on.

The causing events (``customers.customer.registered.v1``, ``orders.order.placed.v1``,
``orders.order.cancelled.v1``) and the decisions the monolith publishes with each
(``notifications.handling.decided.v1``, ADR 0009): every one the whole CloudEvent document
the relay publishes, with the AMQP ``type`` as metadata. A decision's ``handled_by`` comes from
the monolith's ownership row, which the provider state ``notifications are handled by`` sets.

The examples are also the consumer's fixtures (:func:`example_event`): each is checked against
its event's JSON Schema, so a pact cannot expect what the contract files forbid.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from pact import Pact, match

from strangler_contracts.notification_events import (
    CUSTOMER_REGISTERED,
    HANDLING_DECIDED,
    ORDER_CANCELLED,
    ORDER_PLACED,
    describe_decision,
)
from strangler_contracts.provider import describe
from strangler_contracts.states import NOTIFICATIONS_OWNER
from strangler_messaging import CloudEvent
from strangler_messaging.envelope import CONTENT_TYPE
from tests.contracts.matchers import TIMESTAMP_EXAMPLE, timestamp, uuid7
from tests.contracts.product_events import MONOLITH, envelope
from tests.support.contracts import event_validator

CAUSE_ID = "0193a1b2-1111-7000-8000-000000000101"
"""The causing event's id in every example (so the decisions' ``event_id``)."""
DECISION_ID = "0193a1b2-1111-7000-8000-000000000102"
CUSTOMER_ID = "0193a1b2-5555-7000-8000-000000000001"
ORDER_ID = "0193a1b2-4444-7000-8000-000000000001"
PRODUCT_ID = "0193a1b2-0000-7000-8000-000000000021"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"

CUSTOMER = {"id": CUSTOMER_ID, "email": "ann@example.com", "name": "Ann",
            "created_at": TIMESTAMP_EXAMPLE}
LINE = {"product_id": PRODUCT_ID, "sku": "APL-1", "name": "Apple", "unit_price_cents": 250,
        "quantity": 2, "line_total_cents": 500}
ORDER = {"id": ORDER_ID, "customer_id": CUSTOMER_ID, "lines": [LINE], "total_cents": 500,
         "currency": "EUR", "created_at": TIMESTAMP_EXAMPLE, "updated_at": TIMESTAMP_EXAMPLE}


def _customer() -> dict[str, Any]:
    return {"id": uuid7(CUSTOMER_ID), "email": match.regex(CUSTOMER["email"], regex=EMAIL_PATTERN),
            "name": match.str(CUSTOMER["name"]), "created_at": timestamp()}


def _order(status: str) -> dict[str, Any]:
    line = {"product_id": uuid7(PRODUCT_ID), "sku": match.str("APL-1"),
            "name": match.str("Apple"), "unit_price_cents": match.int(250),
            "quantity": match.int(2), "line_total_cents": match.int(500)}
    return {"id": uuid7(ORDER_ID), "customer_id": uuid7(CUSTOMER_ID), "status": status,
            "lines": match.each_like(line, min=1), "total_cents": match.int(500),
            "currency": match.regex("EUR", regex=r"^[A-Z]{3}$"), "created_at": timestamp(),
            "updated_at": timestamp()}


CAUSES: dict[str, tuple[str, Any, int, Callable[[], dict[str, Any]]]] = {
    CUSTOMER_REGISTERED: ("customer", CUSTOMER_ID, 1, _customer),
    ORDER_PLACED: ("order", ORDER_ID, 1, lambda: _order("placed")),
    ORDER_CANCELLED: ("order", ORDER_ID, 2, lambda: _order("cancelled")),
}
"""Causing event type -> aggregatetype, subject, aggregatesequence, data matchers."""
DECISIONS = ((CUSTOMER_REGISTERED, "notifications"), (ORDER_PLACED, "notifications"),
             (ORDER_CANCELLED, "notifications"), (CUSTOMER_REGISTERED, "monolith"))
"""(causing event type, handled_by) of each decision the service relies on."""


def _declare_cause(cause: str) -> Callable[[Pact], None]:
    aggregatetype, subject, sequence, data = CAUSES[cause]

    def declare(pact: Pact) -> None:
        body = envelope(MONOLITH, cause, uuid7(subject), sequence, data(),
                        aggregatetype=aggregatetype, event_id=CAUSE_ID)
        (pact.upon_receiving(describe(cause), "Async")
         .with_body(body, CONTENT_TYPE).with_metadata({"type": cause}))

    return declare


def _declare_decision(cause: str, handled_by: str) -> Callable[[Pact], None]:
    def declare(pact: Pact) -> None:
        data = {"event_id": uuid7(CAUSE_ID), "event_type": cause, "handled_by": handled_by}
        body = envelope(MONOLITH, HANDLING_DECIDED, uuid7(CAUSE_ID), 1, data,
                        aggregatetype="notification_handling", event_id=DECISION_ID)
        (pact.upon_receiving(describe_decision(cause, handled_by), "Async")
         .given(NOTIFICATIONS_OWNER, owner=handled_by)
         .with_body(body, CONTENT_TYPE).with_metadata({"type": HANDLING_DECIDED}))

    return declare


DECLARATIONS: dict[str, Callable[[Pact], None]] = {
    **{describe(cause): _declare_cause(cause) for cause in CAUSES},
    **{describe_decision(cause, side): _declare_decision(cause, side)
       for cause, side in DECISIONS},
}
"""Pact description -> how to declare that message."""


def example_event(event_type: str, event_id: str, data: Mapping[str, Any],
                  aggregatetype: str, subject: str, sequence: int = 1) -> CloudEvent:
    """A monolith event as the consumer's own fixture, checked against its JSON Schema."""
    event = CloudEvent(id=event_id, source=MONOLITH.source, type=event_type, subject=subject,
                       time=datetime.fromisoformat(TIMESTAMP_EXAMPLE),
                       aggregatetype=aggregatetype, aggregatesequence=sequence,
                       origin=MONOLITH.origin, data=dict(data))
    event_validator(event_type).validate(event)
    return event


def example_cause(event_type: str, event_id: str) -> CloudEvent:
    """The causing event a decision is about, as the examples above describe it."""
    if event_type == CUSTOMER_REGISTERED:
        return example_event(event_type, event_id, CUSTOMER, "customer", CUSTOMER_ID)
    status = "placed" if event_type == ORDER_PLACED else "cancelled"
    return example_event(event_type, event_id, {**ORDER, "status": status}, "order", ORDER_ID,
                         CAUSES[event_type][2])


def example_decision(cause: CloudEvent, handled_by: str) -> CloudEvent:
    """The monolith's decision about ``cause``, naming ``handled_by``."""
    return example_event(HANDLING_DECIDED, DECISION_ID,
                         {"event_id": cause.id, "event_type": cause.type,
                          "handled_by": handled_by}, "notification_handling", cause.id)
