"""Moving a context's write ownership between the monolith and its service, without losing a write.

The sequence (each step idempotent, so an interrupted move is finished by running it again):

1. **Pause and gate**: the context's write routes are set to their final mode *and* paused,
   in one audited change. The proxy holds matching requests instead of forwarding them. A move
   to the service is a gated change, so a failing contract verification stops it here, before
   anything else has happened.
2. **Settle**: wait for every proxy worker to load the paused table.
3. **Fence the old owner**: its database records the new owner (``hand_over`` waits for
   write transactions in flight). From now on it refuses writes; a straggler gets 503
   ``not_write_owner`` and changes nothing.
4. **Drain**: wait until reconcile finds no drift from the old owner to the new one: every
   write the old owner accepted has reached the new owner through the outbox, the relay and
   the consumer.
5. **Hand over**: the new owner's database records itself as the owner, at the same epoch.
6. **Release**: the write routes are unpaused; held writes go to the new owner.

If the drain does not finish in time, the move is undone: the old owner takes its writes back
(at a newer epoch) and the routes are restored. Reads are not touched.

A context whose source decides per event which side handles it (``decided_at_source``: the
notifications, which react to events rather than take writes) moves in one step: the source
database records the new owner, every later event is decided for it, and events already
decided keep their decision. Nothing to pause, nothing to drain. Every move is also audited as
an ``ownership_moved`` note in the proxy's audit log.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Engine

from strangler_cli.contexts import Context, WriteRoute
from strangler_messaging.ownership import Ownership, WriteOwnership
from strangler_messaging.reconcile import Drift, compare
from strangler_proxy.control import RouteControl, parse_route


class RouteDesk(Protocol):
    """Where route documents are read and set (the proxy's admin API, or its control)."""

    def get(self, route_id: str) -> dict[str, Any] | None:
        """The route document, or None if there is no such route."""
        ...

    def put(self, doc: dict[str, Any], reason: str) -> None:
        """Set the route (validated, gated, audited); raises if refused."""
        ...

    def note(self, action: str, reason: str) -> None:
        """Audit something that changes no route."""
        ...


class CutoverFailed(Exception):
    """The move could not finish and was undone; the message says why."""


@dataclass(frozen=True, slots=True)
class Side:
    """One side of a context: its name (database and proxy backend), engine and readers."""

    name: str
    engine: Engine
    ownership: WriteOwnership
    states: Callable[[Engine], Any] | None = None
    """The reconcile reader of the side's copy (contexts that drain by reconcile)."""

    def read(self) -> Ownership:
        """What this side's database records."""
        with self.engine.connect() as conn:
            return self.ownership.read(conn)

    def hand_over(self, to: str, epoch: int) -> Ownership:
        """Record ``to`` as owner at ``epoch`` (waits for this side's writes in flight)."""
        with self.engine.begin() as conn:
            return self.ownership.hand_over(conn, to=to, epoch=epoch)


@dataclass(slots=True)
class MoveReport:
    """What a move did, and how long the writes were held."""

    context: str
    before: str
    after: str
    epoch: int
    paused_seconds: float = 0.0
    drain_seconds: float = 0.0
    steps: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class OwnershipStatus:
    """Each side's record and the write routes, and whether they tell one story."""

    context: str
    records: dict[str, Ownership]
    routes: dict[str, dict[str, Any] | None]

    @property
    def owner(self) -> str | None:
        """The owner both sides agree on, or None in the middle of a move."""
        owners = {r.owner for r in self.records.values()}
        return owners.pop() if len(owners) == 1 else None


class WriteCutover:
    """Moves one context's writes between its two sides."""

    def __init__(self, context: Context, source: Side, target: Side, desk: RouteDesk, *,
                 settle: float = 1.0, drain_timeout: float = 60.0,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if not context.write_routes and not context.decided_at_source:
            raise ValueError(f"context {context.name} has no write routes to move")
        self._context = context
        self._sides = {source.name: source, target.name: target}
        self._desk = desk
        self._settle = settle
        self._drain_timeout = drain_timeout
        self._clock = clock
        self._sleep = sleep

    def status(self) -> OwnershipStatus:
        """What each database records and what the proxy routes."""
        return OwnershipStatus(self._context.name,
                               {name: side.read() for name, side in self._sides.items()},
                               {r.id: self._desk.get(r.id) for r in self._context.write_routes})

    def move(self, to: str, reason: str) -> MoveReport:
        """Make ``to`` (a side's name) the write owner; see the module docstring."""
        if to not in self._sides:
            raise ValueError(f"{to!r} is not a side of {self._context.name}; "
                             f"choose {' or '.join(self._sides)}")
        old = next(name for name in self._sides if name != to)
        records = {name: side.read() for name, side in self._sides.items()}
        epoch = max(r.epoch for r in records.values()) + 1
        report = MoveReport(self._context.name, records[to].owner, to, epoch)
        done = all(r.owner == to for r in records.values()) and all(
            self._final(route, to) == _plain(self._desk.get(route.id))
            for route in self._context.write_routes)
        if done:
            report.epoch = records[to].epoch
            report.steps.append(f"{to} already owns the writes; nothing to do")
            return report
        why = f"ownership move {self._context.name} -> {to} (epoch {epoch}): {reason}"
        if self._context.decided_at_source:
            return self._decided_at_source(report, old, to, epoch, why)
        previous = {r.id: self._desk.get(r.id) for r in self._context.write_routes}
        paused_at = self._clock()
        for route in self._context.write_routes:
            self._desk.put({**self._final(route, to), "paused": True}, f"{why}; pause writes")
        report.steps.append("write routes paused in their final mode (gate passed)")
        self._sleep(self._settle)
        self._sides[old].hand_over(to, epoch)
        report.steps.append(f"{old} fenced: it refuses writes from epoch {epoch}")
        drained_at = self._clock()
        drift = self._drain(self._sides[old], self._sides[to])
        if drift is not None:
            self._undo(old, epoch + 1, previous, why)
            raise CutoverFailed(f"{old} -> {to} did not drain in {self._drain_timeout:.0f}s "
                                f"({drift.total} of {drift.compared} aggregates still "
                                f"differ); the move was undone, {old} owns the writes again")
        report.drain_seconds = self._clock() - drained_at
        report.steps.append(f"drained: no drift from {old} to {to} "
                            f"({report.drain_seconds:.2f}s)")
        self._sides[to].hand_over(to, epoch)
        report.steps.append(f"{to} records itself as owner at epoch {epoch}")
        report.paused_seconds = self._clock() - paused_at
        for route in self._context.write_routes:
            self._desk.put(self._final(route, to),
                           f"{why}; release writes (held {report.paused_seconds:.2f}s, "
                           f"drained in {report.drain_seconds:.2f}s)")
        report.steps.append(f"write routes released to {to}")
        self._desk.note("ownership_moved", f"{why}; writes held {report.paused_seconds:.2f}s")
        return report

    def _decided_at_source(self, report: MoveReport, old: str, to: str, epoch: int,
                           why: str) -> MoveReport:
        source = self._sides[self._context.source_database]
        source.hand_over(to, epoch)
        report.steps.append(f"{source.name} decides every later event for {to} "
                            f"(epoch {epoch})")
        other = next(side for side in self._sides.values() if side is not source)
        other.hand_over(to, epoch)
        report.steps.append(f"{other.name} records the same owner")
        self._desk.note("ownership_moved", f"{why}; from {old}, decided at the source")
        return report

    def _drain(self, old: Side, new: Side) -> Drift | None:
        """None once ``new`` holds everything ``old`` has; the last drift on timeout."""
        deadline = self._clock() + self._drain_timeout
        pause = 0.02
        assert old.states is not None and new.states is not None, "drain needs both readers"
        while True:
            drift = compare(old.states(old.engine), new.states(new.engine))
            if drift.total == 0:
                return None
            if self._clock() >= deadline:
                return drift
            self._sleep(pause)
            pause = min(pause * 2, 0.5)

    def _undo(self, old: str, epoch: int, previous: dict[str, dict[str, Any] | None],
              why: str) -> None:
        for side in self._sides.values():
            side.hand_over(old, epoch)
        for route in self._context.write_routes:
            before = previous[route.id] or self._final(route, self._context.source_database)
            self._desk.put({**before, "paused": False}, f"{why}; undone (drain timeout)")

    def _final(self, route: WriteRoute, owner: str) -> dict[str, Any]:
        doc: dict[str, Any] = {"id": route.id, "methods": sorted(route.methods),
                               "path": route.path, "paused": False}
        if owner == self._context.source_database:
            return {**doc, "mode": "legacy", "service": None}
        # A write that reached the service is never replayed on the monolith, which would
        # refuse it anyway: the service owns the writes.
        return {**doc, "mode": "extracted", "service": owner, "fallback": "never"}


def _plain(doc: dict[str, Any] | None) -> dict[str, Any]:
    """The fields a write route's final form sets, for comparing with what is stored."""
    if doc is None:
        return {}
    keys = ("id", "methods", "path", "mode", "service", "paused")
    plain = {k: doc.get(k) for k in keys}
    plain["methods"] = sorted(plain["methods"] or [])
    plain["paused"] = bool(plain["paused"])
    if doc.get("mode") == "extracted":
        plain["fallback"] = doc.get("fallback")
    return plain


class ControlDesk:
    """Route documents through a :class:`~strangler_proxy.control.RouteControl` in-process
    (tests, or a tool that embeds the control plane instead of calling its admin API)."""

    def __init__(self, control: RouteControl, actor: str) -> None:
        self._control = control
        self._actor = actor

    def get(self, route_id: str) -> dict[str, Any] | None:
        """The route, or None."""
        route = self._control.table().get(route_id)
        return None if route is None else route.to_dict()

    def put(self, doc: dict[str, Any], reason: str) -> None:
        """Set the route; :class:`~strangler_proxy.control.GateRefused` if the gate refuses."""
        self._control.set_route(parse_route(doc), self._actor, reason, source="cli")

    def note(self, action: str, reason: str) -> None:
        """Audit in the proxy's log."""
        self._control.store.note(actor=self._actor, source="cli", action=action, reason=reason)
