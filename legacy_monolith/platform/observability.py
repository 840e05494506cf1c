"""The monolith's observability: the shared kit under the ``shop`` metric prefix, plus what
only the monolith has (its in-process event bus).

Request ids, trace context, ``/healthz``, ``/readyz`` and ``/metrics`` come from
:mod:`strangler_http.observability`, so the monolith and the services behave the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, Metric

from legacy_monolith.platform.event_bus import EventBus
from strangler_http.observability import OutboxCollector, health_blueprint, install_request_context
from strangler_messaging import OutboxStatus

PREFIX = "shop"

__all__ = ["PREFIX", "ShopCollector", "health_blueprint", "install_request_context"]


class ShopCollector(OutboxCollector):
    """The outbox backlog and database health, and the event bus's failures, at scrape time."""

    def __init__(self, read_status: Callable[[], OutboxStatus], bus: EventBus) -> None:
        super().__init__(PREFIX, read_status)
        self._bus = bus

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily("shop_event_handler_failures",
                                  "In-process event handlers that raised (rolled back).",
                                  self._bus.failures)
        yield from super().collect()
