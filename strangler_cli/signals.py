"""Graceful stop on SIGTERM and SIGINT for long-running components."""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any


def stop_on_signals(stop: Callable[[], None]) -> None:
    """Call ``stop`` on the first SIGTERM or SIGINT; a second one is left to the default."""

    def handler(signum: int, _frame: Any) -> None:
        signal.signal(signum, signal.SIG_DFL)
        stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
