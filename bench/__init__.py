"""Benchmarks: ``python -m bench`` runs every suite and prints one table per suite.

The machine the numbers come from is small and shared (other engineers' tests, the broker and
PostgreSQL all run on it), so an absolute figure on its own says little. Every suite therefore
measures its own baselines in the same run and reports each figure as a ratio to one of them.

A suite is a function ``(Options) -> list[Row]`` registered in :data:`SUITES` by name; its
module is imported only when the suite runs, so a suite's dependencies (a broker client, an HTTP
load generator) never burden the others. Targets are printed as PASS/SHORT beside the figures
and never fail the run: only an actual error (lost events, a crash) does, as :class:`BenchError`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Options:
    """What the command line asked for."""

    quick: bool = False
    """Small sizes for a smoke run (under a minute for every suite together)."""


@dataclass(frozen=True, slots=True)
class Row:
    """One figure of a suite, with the baseline it is compared to and its target."""

    figure: str
    case: str
    value: float
    unit: str
    baseline: str = ""
    """What :attr:`ratio` divides by (a measurement of this run), e.g. ``ceiling quorum``."""
    ratio: float | None = None
    target: str = ""
    verdict: str = ""
    """``PASS`` or ``SHORT`` when there is a target; informative only."""
    note: str = ""


class BenchError(Exception):
    """The benchmark itself went wrong (events lost or duplicated, a component failed).

    :attr:`rows` holds what the suite had measured before, so it is not lost with the run.
    """

    rows: list[Row]

    def __init__(self, message: str, rows: list[Row] | None = None) -> None:
        super().__init__(message)
        self.rows = rows or []


Suite = Callable[[Options], list[Row]]


def _lazy(module: str, function: str = "run") -> Suite:
    def suite(options: Options) -> list[Row]:
        run: Suite = getattr(importlib.import_module(module), function)
        return run(options)

    suite.__doc__ = f"{module}.{function}"
    return suite


SUITES: dict[str, Suite] = {
    "messaging": _lazy("bench.messaging"),
    "notifications": _lazy("bench.notifications"),
    "proxy": _lazy("bench.proxy"),
}
"""Every suite by name, in the order ``python -m bench`` runs them."""


def verdict(value: float, target: float, *, higher_is_better: bool = True) -> str:
    """``PASS`` when ``value`` meets ``target``, else ``SHORT``."""
    met = value >= target if higher_is_better else value <= target
    return "PASS" if met else "SHORT"
