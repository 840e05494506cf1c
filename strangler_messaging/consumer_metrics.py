"""Prometheus metrics of a consumer."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from strangler_messaging.inbox import Admission
from strangler_messaging.sqltypes import utc_now


class ConsumerMetrics:
    """Applied, duplicate, stale and dead-lettered events; batch time; end-to-end lag."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.events = Counter("consumer_events", "Events by inbox outcome.", ["outcome"],
                              registry=self.registry)
        self.dead_lettered = Counter("consumer_dead_lettered_events",
                                     "Events sent to the dead-letter queue.",
                                     registry=self.registry)
        self.batch_seconds = Histogram(
            "consumer_batch_seconds", "Time to admit and apply one batch in one transaction.",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry)
        self.lag = Histogram(
            "consumer_lag_seconds", "From the event's time (commit at the source) to applied.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry)

    def applied(self, admission: Admission, seconds: float) -> None:
        """Record one committed batch."""
        self.events.labels("applied").inc(len(admission.fresh))
        self.events.labels("duplicate").inc(len(admission.duplicates))
        self.events.labels("stale").inc(len(admission.stale))
        self.batch_seconds.observe(seconds)
        now = utc_now()
        for event in admission.fresh:
            self.lag.observe(max(0.0, (now - event.time).total_seconds()))
