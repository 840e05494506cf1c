"""Waiting for conditions and running components in threads, with hard limits."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol


class Runnable(Protocol):
    """A component with a blocking ``run`` and a thread-safe ``stop``."""

    def run(self) -> None: ...

    def stop(self) -> None: ...


def wait_until(condition: Callable[[], bool], *, timeout: float = 30.0, every: float = 0.05,
               message: str = "condition") -> None:
    """Poll ``condition`` until it holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    raise AssertionError(f"{message} did not hold within {timeout}s")


@contextmanager
def in_thread(component: Runnable, *, join_timeout: float = 30.0) -> Iterator[threading.Thread]:
    """Run ``component`` in a thread; stop it and make sure it ended when the block exits."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            component.run()
        except BaseException as exc:  # surfaced in the test below
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        component.stop()
        thread.join(join_timeout)
    assert not thread.is_alive(), f"{type(component).__name__} did not stop"
    assert not errors, f"{type(component).__name__} failed: {errors[0]!r}"
