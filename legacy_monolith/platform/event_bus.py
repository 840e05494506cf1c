"""In-process delivery of integration events to other modules of the monolith.

Handlers run inside the publishing transaction, each in its own SAVEPOINT: their writes commit
with the change that caused them, and one failing handler is rolled back and logged without
stopping the others or the publisher. Handlers receive the same :class:`CloudEvent` a broker
consumer would, so a module that is later extracted keeps its handlers unchanged.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable

from sqlalchemy.orm import Session

from strangler_messaging import CloudEvent

log = logging.getLogger(__name__)

Handler = Callable[[CloudEvent], None]


class EventBus:
    """Routes events by type to the handlers subscribed at the composition root."""

    def __init__(self) -> None:
        self._handlers: defaultdict[str, list[Handler]] = defaultdict(list)
        self.failures = 0

    def subscribe(self, event_type: str, handler: Handler) -> None:
        """Call ``handler`` for every event of ``event_type``."""
        self._handlers[event_type].append(handler)

    def dispatch(self, session: Session, event: CloudEvent) -> None:
        """Run every handler of ``event.type`` in a savepoint of ``session``."""
        for handler in self._handlers.get(event.type, ()):
            try:
                with session.begin_nested():
                    handler(event)
            except Exception:
                self.failures += 1
                log.exception(
                    "event handler %s failed for %s %s; its changes were rolled back",
                    getattr(handler, "__qualname__", handler), event.type, event.id,
                )
