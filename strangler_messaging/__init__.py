"""The messaging library shared by the monolith and every extracted service.

It carries integration events from one database to another without dual writes: a state
change and its events commit together (the transactional outbox), a relay publishes them, and
consumers apply them idempotently. It imports neither Flask nor any deployable, so a team can
lift it into its own migration as it is.

Public surface:
- :class:`IntegrationEvent` -- what application code publishes;
- :class:`CloudEvent` -- the CloudEvents 1.0 envelope that travels (structured JSON);
- :func:`define_outbox_table` and :class:`OutboxWriter` -- the outbox;
- :class:`TraceContext` and :func:`current_trace` -- W3C trace context carried by events;
- :class:`UtcDateTime` -- timezone-aware timestamps on SQLite and PostgreSQL alike.
"""

from strangler_messaging.envelope import CloudEvent, EnvelopeError, IntegrationEvent
from strangler_messaging.ids import uuid7
from strangler_messaging.outbox import (
    OutboxStatus,
    OutboxWriter,
    define_outbox_table,
    outbox_status,
)
from strangler_messaging.sqltypes import UtcDateTime
from strangler_messaging.tracing import TraceContext, current_trace, use_trace

__all__ = [
    "CloudEvent",
    "EnvelopeError",
    "IntegrationEvent",
    "OutboxStatus",
    "OutboxWriter",
    "TraceContext",
    "UtcDateTime",
    "current_trace",
    "define_outbox_table",
    "outbox_status",
    "use_trace",
    "uuid7",
]
