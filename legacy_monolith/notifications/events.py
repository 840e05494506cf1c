"""Integration events the notifications module consumes and publishes.

It consumes other modules' events by their versioned type names (the contract is the JSON
Schema in ``contracts/events/``, not their Python code) and publishes
``notifications.notification.recorded.v1`` and, for every causing event, which side handles it
(``notifications.handling.decided.v1``).
"""

from __future__ import annotations

from legacy_monolith.notifications.models import Notification
from strangler_messaging import CloudEvent, IntegrationEvent

CUSTOMER_REGISTERED = "customers.customer.registered.v1"
ORDER_PLACED = "orders.order.placed.v1"
ORDER_CANCELLED = "orders.order.cancelled.v1"
SUBSCRIBED = (CUSTOMER_REGISTERED, ORDER_PLACED, ORDER_CANCELLED)

NOTIFICATION_RECORDED = "notifications.notification.recorded.v1"
HANDLING_DECIDED = "notifications.handling.decided.v1"


def notification_recorded(notification: Notification) -> IntegrationEvent:
    """A notification was recorded for sending."""
    return IntegrationEvent(NOTIFICATION_RECORDED, "notification", notification.id, 1,
                            notification.snapshot())


def handling_decided(event: CloudEvent, handled_by: str) -> IntegrationEvent:
    """Which side notifies about ``event``, decided once, in the transaction publishing it."""
    return IntegrationEvent(HANDLING_DECIDED, "notification_handling", event.id, 1,
                            {"event_id": event.id, "event_type": event.type,
                             "handled_by": handled_by})
