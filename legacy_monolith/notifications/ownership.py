"""Who reacts to the notification-causing events: the monolith until the switch-over.

The row lives in the monolith's database (``write_ownership``, context ``notifications``) and
is changed only by ``strangler ownership move notifications``. The in-process handler reads it
(with a shared lock) inside the transaction that publishes the causing event and publishes its
decision with it (``notifications.handling.decided``), so each event is handled by exactly one
side however the switch and the event stream interleave.
"""

from __future__ import annotations

from legacy_monolith.platform.database import write_ownership
from strangler_messaging.ownership import WriteOwnership

CONTEXT = "notifications"
ME = "monolith"
SERVICE = "notifications"


def notifications_ownership() -> WriteOwnership:
    """The notifications context's ownership row, seen from the monolith."""
    return WriteOwnership(write_ownership, CONTEXT, me=ME, default_owner=ME)
