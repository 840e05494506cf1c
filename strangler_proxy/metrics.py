"""Prometheus metrics of the data plane (per route x backend), multi-process aware.

With several worker processes, ``PROMETHEUS_MULTIPROC_DIR`` is set before any worker imports
prometheus_client, and the admin listener aggregates the workers' files.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

DEFAULT_ROUTE = "(default)"


class ProxyMetrics:
    """Every metric the data plane records."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = self.registry = registry or CollectorRegistry()
        self.requests = Counter("proxy_requests", "Requests answered, by route and backend.",
                                ["route", "backend", "status_class"], registry=r)
        self.latency = Histogram(
            "proxy_request_seconds", "Time from a complete request to its response.",
            ["route", "backend"], registry=r,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
        self.fallbacks = Counter("proxy_fallbacks", "Requests served by legacy after the "
                                 "service failed or its breaker was open.", ["route", "reason"],
                                 registry=r)
        self.upstream_errors = Counter("proxy_upstream_errors", "Failed exchanges by kind.",
                                       ["backend", "kind"], registry=r)
        self.breaker_open = Gauge("proxy_breaker_open", "1 while a backend's breaker is open "
                                  "or half-open.", ["backend"], registry=r,
                                  multiprocess_mode="livemax")
        self.shadow = Counter("proxy_shadow_comparisons", "Shadowed requests by outcome.",
                              ["route", "result"], registry=r)
        self.held = Counter("proxy_held_requests", "Requests held because their route was "
                            "paused (write cutover).", ["route"], registry=r)
        self.table_version = Gauge("proxy_route_table_version", "Route table version loaded.",
                                   registry=r, multiprocess_mode="livemin")
