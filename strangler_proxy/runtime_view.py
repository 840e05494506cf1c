"""What the control plane reads from the running data plane: metrics, breakers, route stats.

The admin API depends on this protocol only; the data plane implements it, and tests use a
fake made of plain data. :func:`summarize` turns the stats into the migration's status.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from strangler_proxy.matching import RouteTable
from strangler_proxy.routes import Mode

BREAKER_STATES = ("closed", "open", "half_open")
"""The states :meth:`RuntimeView.breakers` reports per backend."""

ROUTE_STAT_KEYS = ("requests", "errors", "legacy_share", "service_share", "shadowed",
                   "mismatches")
"""The keys of one route's stats; a missing key counts as 0.

``requests`` and ``errors`` (responses the proxy failed or answered 5xx) are counts since the
process started; ``legacy_share`` and ``service_share`` are fractions (0..1) of the route's
requests each side answered; ``shadowed`` counts shadow comparisons and ``mismatches`` those
that differed.
"""


class RuntimeView(Protocol):
    """A read-only view of the data plane in this process."""

    def metrics_text(self) -> bytes:
        """Every metric in the Prometheus text exposition format."""
        ...

    def breakers(self) -> dict[str, str]:
        """Backend name -> breaker state (one of :data:`BREAKER_STATES`)."""
        ...

    def route_stats(self) -> dict[str, dict[str, float]]:
        """Route id -> stats keyed by :data:`ROUTE_STAT_KEYS`."""
        ...


def summarize(table: RouteTable, stats: Mapping[str, Mapping[str, float]]) -> dict[str, Any]:
    """Where the migration stands: routes per mode, and per route its traffic split, error
    rate and mismatch rate (rates are None until there is something to divide by).

    ``traffic`` totals every request in the stats; ``other_requests`` are those of no current
    route (requests no route matched, which the legacy backend answered, and requests of
    routes removed since the data plane started).
    """
    per_mode = {mode.value: 0 for mode in Mode}
    rows: list[dict[str, Any]] = []
    for route in sorted(table.routes, key=lambda r: r.id):
        per_mode[route.mode.value] += 1
        numbers = _numbers(stats.get(route.id, {}))
        rows.append({
            "id": route.id, "mode": route.mode.value, "service": route.service,
            "percent_bps": route.percent_bps,
            "requests": int(numbers["requests"]), "errors": int(numbers["errors"]),
            "error_rate": _rate(numbers["errors"], numbers["requests"]),
            "legacy_share": numbers["legacy_share"], "service_share": numbers["service_share"],
            "shadowed": int(numbers["shadowed"]), "mismatches": int(numbers["mismatches"]),
            "mismatch_rate": _rate(numbers["mismatches"], numbers["shadowed"]),
        })
    others = [_numbers(values) for key, values in stats.items() if table.get(key) is None]
    other_requests = int(sum(n["requests"] for n in others))
    requests = sum(row["requests"] for row in rows) + other_requests
    errors = sum(row["errors"] for row in rows) + int(sum(n["errors"] for n in others))
    to_services = (sum(row["requests"] * row["service_share"] for row in rows)
                   + sum(n["requests"] * n["service_share"] for n in others))
    return {
        "table_version": table.version,
        "routes_per_mode": per_mode,
        "routes": rows,
        "traffic": {"requests": requests, "other_requests": other_requests, "errors": errors,
                    "error_rate": _rate(errors, requests),
                    "service_share": _rate(to_services, requests)},
    }


def _numbers(values: Mapping[str, float]) -> dict[str, float]:
    return {key: float(values.get(key, 0.0)) for key in ROUTE_STAT_KEYS}


def _rate(part: float, whole: float) -> float | None:
    return round(part / whole, 6) if whole > 0 else None
