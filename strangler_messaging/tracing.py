"""W3C trace context (``traceparent``/``tracestate``) carried from requests into events.

An HTTP entry point (or a consumer handling a message) parses the incoming context, derives a
child span for its own work and installs it with :func:`use_trace`. Everything written while it
is installed -- outbox rows in particular -- records that context, so a trace follows a change
from the request that caused it to every consumer that applies it.
"""

from __future__ import annotations

import contextvars
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_MAX_TRACESTATE = 512

_current: contextvars.ContextVar[TraceContext | None] = contextvars.ContextVar(
    "strangler_trace", default=None
)


@dataclass(frozen=True, slots=True)
class TraceContext:
    """One span's identity in a distributed trace."""

    trace_id: str
    span_id: str
    flags: str = "01"
    tracestate: str | None = None

    @classmethod
    def new_root(cls) -> TraceContext:
        """Start a new trace (used when a request arrives without a valid ``traceparent``)."""
        return cls(trace_id=os.urandom(16).hex(), span_id=os.urandom(8).hex())

    @classmethod
    def parse(cls, traceparent: str | None, tracestate: str | None = None) -> TraceContext | None:
        """Parse a ``traceparent`` header; ``None`` when it is absent or invalid.

        Invalid values are dropped, never echoed: a malformed header must not break the
        request, nor travel onwards into events.
        """
        if not traceparent:
            return None
        match = _TRACEPARENT.match(traceparent.strip().lower())
        if match is None:
            return None
        version, trace_id, span_id, flags = match.groups()
        if version == "ff" or trace_id == "0" * 32 or span_id == "0" * 16:
            return None
        state = tracestate.strip() if tracestate else None
        if state and len(state) > _MAX_TRACESTATE:
            state = None
        return cls(trace_id=trace_id, span_id=span_id, flags=flags, tracestate=state or None)

    @classmethod
    def continue_from(cls, traceparent: str | None, tracestate: str | None = None) -> TraceContext:
        """Return a child span of the incoming context, or a new root when there is none."""
        parent = cls.parse(traceparent, tracestate)
        return parent.child() if parent else cls.new_root()

    def child(self) -> TraceContext:
        """A new span in the same trace."""
        return TraceContext(self.trace_id, os.urandom(8).hex(), self.flags, self.tracestate)

    @property
    def traceparent(self) -> str:
        """The ``traceparent`` header value for this span."""
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"


def current_trace() -> TraceContext | None:
    """The trace context installed for the current thread or task, if any."""
    return _current.get()


def set_trace(trace: TraceContext | None) -> contextvars.Token[TraceContext | None]:
    """Install ``trace`` until :func:`reset_trace` is called with the returned token.

    For frameworks whose request hooks cannot wrap the handler in a ``with`` block.
    """
    return _current.set(trace)


def reset_trace(token: contextvars.Token[TraceContext | None]) -> None:
    """Restore the context that was current before :func:`set_trace`."""
    _current.reset(token)


@contextmanager
def use_trace(trace: TraceContext | None) -> Iterator[TraceContext | None]:
    """Install ``trace`` as the current context for the duration of the block."""
    token = _current.set(trace)
    try:
        yield trace
    finally:
        _current.reset(token)


class TraceLogFilter(logging.Filter):
    """Adds ``trace_id`` to every log record: the current trace's id, or ``-``.

    Install it on a handler and put ``%(trace_id)s`` in the format, and a consumer's log lines
    carry the trace of the request that caused the event they are handling.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        trace = _current.get()
        record.trace_id = trace.trace_id if trace else "-"
        return True
