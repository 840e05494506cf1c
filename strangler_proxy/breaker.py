"""A circuit breaker per backend: stop sending to a service that keeps failing.

Closed: requests flow; N consecutive failures (or an error ratio over a sliding window of
requests) open it. Open: requests are not sent (the caller falls back or refuses) until the
cool-down ends. Half-open: one probe at a time; a success closes it, a failure opens it again.
Every transition is reported to ``on_change`` so it can be audited like any route flip.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


@dataclass(frozen=True, slots=True)
class BreakerSettings:
    """When to open and for how long (Envoy's outlier-detection defaults: 5 and 30 s)."""

    consecutive_failures: int = 5
    error_ratio: float = 0.5
    window: int = 20
    min_requests: int = 10
    cool_down: float = 30.0


class CircuitBreaker:
    """The breaker of one backend (per proxy instance)."""

    def __init__(self, backend: str, settings: BreakerSettings | None = None, *,
                 on_change: Callable[[str, str, str, str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.backend = backend
        self._settings = settings or BreakerSettings()
        self._on_change = on_change
        self._clock = clock
        self.state = CLOSED
        self._consecutive = 0
        self._recent: deque[bool] = deque(maxlen=self._settings.window)
        self._opened_at = 0.0
        self._probing = False

    def allow(self) -> bool:
        """Whether a request may be sent now (in half-open: only the one probe)."""
        if self.state == OPEN:
            if self._clock() - self._opened_at < self._settings.cool_down:
                return False
            self._move(HALF_OPEN, "cool-down over; probing")
        if self.state == HALF_OPEN:
            if self._probing:
                return False
            self._probing = True
        return True

    def record(self, ok: bool) -> None:
        """The outcome of a request that was sent."""
        if self.state == HALF_OPEN:
            self._probing = False
            if ok:
                self._reset()
                self._move(CLOSED, "probe succeeded")
            else:
                self._trip("probe failed")
            return
        self._recent.append(ok)
        self._consecutive = 0 if ok else self._consecutive + 1
        failures = self._recent.count(False)
        if self._consecutive >= self._settings.consecutive_failures:
            self._trip(f"{self._consecutive} consecutive failures")
        elif (len(self._recent) >= self._settings.min_requests
              and failures / len(self._recent) >= self._settings.error_ratio):
            self._trip(f"{failures} of the last {len(self._recent)} requests failed")

    def _trip(self, why: str) -> None:
        self._opened_at = self._clock()
        self._reset()
        self._move(OPEN, why)

    def _reset(self) -> None:
        self._consecutive = 0
        self._recent.clear()
        self._probing = False

    def _move(self, state: str, why: str) -> None:
        before, self.state = self.state, state
        if self._on_change is not None and before != state:
            self._on_change(self.backend, before, state, why)
