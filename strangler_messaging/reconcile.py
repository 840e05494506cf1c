"""Reconcile: compare a context's state on two sides, aggregate by aggregate, and repair drift.

Each side is read as a stream of :class:`StateDigest` in key order (a merge join, so memory
stays flat however large the context). Drift is what the source has and the target lacks, what
the target has and the source lacks, and what differs (version or content). Repair re-emits the
drifted aggregates from the source through its outbox, marked ``resync`` so a consumer applies
them even at the version it already holds (the content differed), and tombstones for
aggregates only the target still has.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from sqlalchemy import Engine

from strangler_messaging.backfill import SnapshotSource
from strangler_messaging.outbox import OutboxWriter


@dataclass(frozen=True, slots=True)
class StateDigest:
    """One aggregate's version and a hash of its state."""

    key: str
    version: int
    digest: str


def digest_of(state: Mapping[str, Any]) -> str:
    """A stable hash of a JSON-ready state (key order does not matter)."""
    canonical = json.dumps(state, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class StateReader(Protocol):
    """One side of a context."""

    def read(self, after: str | None, limit: int) -> list[StateDigest]:
        """Up to ``limit`` aggregates whose key sorts after ``after``, in key order."""


@dataclass(frozen=True, slots=True)
class Different:
    """An aggregate both sides hold, with a different version or content."""

    key: str
    source_version: int
    target_version: int


@dataclass(slots=True)
class Drift:
    """Everything reconcile found."""

    compared: int = 0
    missing: list[str] = field(default_factory=list)
    extra: list[StateDigest] = field(default_factory=list)
    different: list[Different] = field(default_factory=list)

    @property
    def total(self) -> int:
        """How many aggregates drifted."""
        return len(self.missing) + len(self.extra) + len(self.different)


def compare(source: StateReader, target: StateReader, *, chunk: int = 1000) -> Drift:
    """Merge-join both sides in key order and collect the drift."""
    drift = Drift()
    left, right = _stream(source, chunk), _stream(target, chunk)
    a, b = next(left, None), next(right, None)
    while a is not None or b is not None:
        drift.compared += 1
        if b is None or (a is not None and a.key < b.key):
            drift.missing.append(a.key)  # type: ignore[union-attr]
            a = next(left, None)
        elif a is None or b.key < a.key:
            drift.extra.append(b)
            b = next(right, None)
        else:
            if (a.version, a.digest) != (b.version, b.digest):
                drift.different.append(Different(a.key, a.version, b.version))
            a, b = next(left, None), next(right, None)
    return drift


def _stream(reader: StateReader, chunk: int) -> Iterator[StateDigest]:
    after: str | None = None
    while True:
        rows = reader.read(after, chunk)
        yield from rows
        if len(rows) < chunk:
            return
        after = rows[-1].key


def repair(engine: Engine, source: SnapshotSource, writer: OutboxWriter, drift: Drift) -> int:
    """Re-emit drifted aggregates from the source; returns how many events were written.

    An aggregate the target holds at a NEWER version than the source is left alone and not
    counted: the target is ahead (it may own the writes now), so repairing it from this
    source would roll it back. Repair it from the other side instead.
    """
    keys = drift.missing + [d.key for d in drift.different
                            if d.source_version >= d.target_version]
    written = 0
    with engine.begin() as conn:
        for _key, event in source.read_keys(conn, keys):
            writer.write(conn, replace(event, resync=True))
            written += 1
        for stale in drift.extra:
            writer.write(conn, replace(source.tombstone(stale.key, stale.version), resync=True))
            written += 1
    return written
