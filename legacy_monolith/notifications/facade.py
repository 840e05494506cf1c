"""The notifications module's public commands and queries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from legacy_monolith.notifications import events, messages
from legacy_monolith.notifications.models import Notification, Recipient
from legacy_monolith.notifications.ownership import ME, SERVICE, notifications_ownership
from legacy_monolith.platform.unit_of_work import UnitOfWorkFactory
from strangler_messaging import CloudEvent, uuid7
from strangler_messaging.ownership import WriteOwnership
from strangler_messaging.sqltypes import utc_now

_KIND_OF = {
    events.CUSTOMER_REGISTERED: (messages.WELCOME, messages.welcome),
    events.ORDER_PLACED: (messages.ORDER_PLACED, messages.order_placed),
    events.ORDER_CANCELLED: (messages.ORDER_CANCELLED, messages.order_cancelled),
}


class NotificationsFacade:
    """Record notifications from events; list a customer's notifications.

    Each causing event gets one decision, published with it: the monolith records the
    notification while it owns the ``notifications`` context; after the switch-over it only
    keeps the recipients, and the extracted service records what was decided for it.
    """

    def __init__(self, uow: UnitOfWorkFactory, ownership: WriteOwnership | None = None) -> None:
        self._uow = uow
        self._ownership = ownership or notifications_ownership()

    def handle(self, event: CloudEvent) -> None:
        """Record the notification ``event`` calls for, once per event id."""
        kind, render = _KIND_OF[event.type]
        data = dict(event.data)
        with self._uow() as uow:
            session = uow.session
            if event.type == events.CUSTOMER_REGISTERED:
                session.merge(Recipient(customer_id=data["id"], email=data["email"],
                                        name=data["name"]))
                customer_id = data["id"]
            else:
                customer_id = data["customer_id"]
            duplicate = session.scalar(
                select(Notification.id).where(Notification.source_event_id == event.id))
            if duplicate is not None:
                uow.commit()
                return
            mine = self._ownership.owns(session)
            uow.publish(events.handling_decided(event, ME if mine else SERVICE))
            if not mine:
                uow.commit()
                return
            recipient = session.get(Recipient, customer_id)
            subject, body = render(data)
            notification = Notification(
                id=str(uuid7()), customer_id=customer_id, kind=kind,
                recipient=recipient.email if recipient else None, subject=subject, body=body,
                source_event_id=event.id, created_at=utc_now())
            session.add(notification)
            session.flush()
            uow.publish(events.notification_recorded(notification))
            uow.commit()

    def list_notifications(self, customer_id: str, *, offset: int, limit: int
                           ) -> tuple[list[dict[str, Any]], int]:
        """A customer's notifications, oldest first, and how many there are."""
        with self._uow.read() as session:
            mine = Notification.customer_id == customer_id
            total = session.scalar(
                select(func.count()).select_from(Notification).where(mine)) or 0
            rows = session.scalars(select(Notification).where(mine)
                                   .order_by(Notification.created_at, Notification.id)
                                   .offset(offset).limit(limit))
            return [row.snapshot() for row in rows], total
