"""The data plane as the admin listener sees it: read from the (multi-process) metrics."""

from __future__ import annotations

from collections import defaultdict

from prometheus_client import CollectorRegistry, generate_latest

from strangler_proxy.routes import LEGACY_BACKEND


class MetricsRuntime:
    """A :class:`~strangler_proxy.runtime_view.RuntimeView` over a metrics registry.

    With several workers the registry is a ``MultiProcessCollector`` over their files, so
    counts are totals across workers and a breaker is reported open if any live worker has it
    open (or half-open: the metric does not tell them apart).
    """

    def __init__(self, registry: CollectorRegistry, backends: list[str]) -> None:
        self._registry = registry
        self._backends = backends

    def metrics_text(self) -> bytes:
        """Every metric in the Prometheus text format."""
        return generate_latest(self._registry)

    def breakers(self) -> dict[str, str]:
        """Backend -> closed | open."""
        states = dict.fromkeys(self._backends, "closed")
        for sample in self._samples("proxy_breaker_open"):
            if sample.value >= 1:
                states[sample.labels["backend"]] = "open"
        return states

    def route_stats(self) -> dict[str, dict[str, float]]:
        """Route -> requests, errors, legacy/service shares, shadowed, mismatches."""
        counts: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for sample in self._samples("proxy_requests_total"):
            route, backend = sample.labels["route"], sample.labels["backend"]
            counts[route]["requests"] += sample.value
            counts[route]["legacy" if backend == LEGACY_BACKEND else "service"] += sample.value
            if sample.labels["status_class"] == "5xx":
                counts[route]["errors"] += sample.value
        for sample in self._samples("proxy_shadow_comparisons_total"):
            route, result = sample.labels["route"], sample.labels["result"]
            if result in ("match", "mismatch"):
                counts[route]["shadowed"] += sample.value
            if result == "mismatch":
                counts[route]["mismatches"] += sample.value
        stats: dict[str, dict[str, float]] = {}
        for route, c in counts.items():
            total = c["requests"]
            stats[route] = {"requests": total, "errors": c["errors"],
                            "legacy_share": c["legacy"] / total if total else 0.0,
                            "service_share": c["service"] / total if total else 0.0,
                            "shadowed": c["shadowed"], "mismatches": c["mismatches"]}
        return stats

    def _samples(self, name: str):  # type: ignore[no-untyped-def]
        for metric in self._registry.collect():
            for sample in metric.samples:
                if sample.name == name:
                    yield sample
