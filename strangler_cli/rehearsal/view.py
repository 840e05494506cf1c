"""Progress while the rehearsal runs, and the summary table at its end."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import click

from strangler_cli.rehearsal.traffic import Stats


@dataclass(frozen=True, slots=True)
class Gauges:
    """What the view reads from the system besides the clients' stats."""

    mismatches: Callable[[], int]
    outbox_lag: Callable[[], int]


class LiveView:
    """One line a second: phase, requests and rate, errors, split per backend, mismatches,
    outbox lag."""

    def __init__(self, stats: Stats, gauges: Gauges, every: float = 1.0) -> None:
        self._stats = stats
        self._gauges = gauges
        self._tty = sys.stdout.isatty()
        self._every = every if self._tty else max(every, 5.0)  # a log file gets fewer lines
        self.phase = "starting"
        self._shown = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="live-view", daemon=True)

    def start(self) -> None:
        """Begin printing."""
        self._thread.start()

    def stop(self) -> None:
        """Stop printing."""
        self._stop.set()
        self._thread.join(5)
        if self._tty:
            click.echo()

    def _run(self) -> None:
        last, last_at = 0, time.monotonic()
        while not self._stop.wait(self._every):
            now = time.monotonic()
            with self._stats.lock:
                requests, errors = self._stats.requests, len(self._stats.failures)
                split = dict(self._stats.backends)
            rate = (requests - last) / max(now - last_at, 1e-6)
            last, last_at = requests, now
            total = sum(split.values()) or 1
            shares = " ".join(f"{name} {count / total:4.0%}" for name, count in sorted(
                split.items()))
            try:
                mismatches, lag = self._gauges.mismatches(), self._gauges.outbox_lag()
            except Exception:  # a database busy for a moment must not end the view
                mismatches, lag = -1, -1
            line = (f"  [{self.phase:<16}] {requests:>6} req {rate:>5.0f}/s  errors {errors}"
                    f"  | {shares} | mismatches {mismatches} | outbox lag {lag}")
            if self._tty:  # one line, rewritten in place; a new one when the phase changes
                end = "\n" if self.phase != self._shown else ""
                click.echo(("\n" if end else "\r") + line, nl=False)
                self._shown = self.phase
            else:
                click.echo(line)


def table(rows: Sequence[tuple[str, str]]) -> str:
    """A two-column table in Markdown, the summary's shape."""
    width = max(len(label) for label, _ in rows)
    lines = [f"| {'':<{width}} | result |", f"|{'-' * (width + 2)}|--------|"]
    lines += [f"| {label:<{width}} | {value} |" for label, value in rows]
    return "\n".join(lines)
