"""Prometheus metrics of a relay."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class RelayMetrics:
    """Published/failed counts, confirm latency per batch, backlog and its age."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.published = Counter("relay_published_events", "Events confirmed by the broker.",
                                 registry=self.registry)
        self.failed = Counter("relay_unconfirmed_events",
                              "Events nacked, returned or timed out (published again later).",
                              registry=self.registry)
        self.confirm_latency = Histogram(
            "relay_batch_confirm_seconds",
            "From a batch's first publish to its rows marked published (confirms included).",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry)
        self.pending = Gauge("relay_backlog_events", "Unpublished outbox rows.",
                             registry=self.registry)
        self.oldest = Gauge("relay_oldest_pending_age_seconds",
                            "Age of the oldest unpublished outbox row.", registry=self.registry)
        self.purged = Counter("relay_purged_events", "Published rows removed by retention.",
                              registry=self.registry)

    def batch_confirmed(self, confirmed: int, failed: int, seconds: float) -> None:
        """Record one finished batch."""
        self.published.inc(confirmed)
        self.failed.inc(failed)
        self.confirm_latency.observe(seconds)

    def backlog(self, pending: int, oldest_age: float, purged: int) -> None:
        """Record the outbox's state at a housekeeping tick."""
        self.pending.set(pending)
        self.oldest.set(oldest_age)
        self.purged.inc(purged)
