"""The unit of work: one transaction, its domain rows and its outbox rows, committed together.

A facade opens a unit of work for each command. If one is already open in this context -- the
orders module reserving stock through the inventory module, an event handler reacting inside
the publisher's transaction -- the new one *joins* it: it shares the session, and only the
outermost unit of work commits. Cross-module commands inside the monolith are therefore atomic;
after an extraction the same call becomes a remote call and that atomicity is replaced by
events, which is the point the playbook makes about where to cut.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from legacy_monolith.platform.database import READ_ONLY
from legacy_monolith.platform.event_bus import EventBus
from strangler_messaging import CloudEvent, IntegrationEvent, OutboxWriter


class UnitOfWork:
    """A transaction that publishes integration events through the outbox."""

    def __init__(self, session: Session, outbox: OutboxWriter, bus: EventBus, *,
                 owner: bool = True) -> None:
        self.session = session
        self._outbox = outbox
        self._bus = bus
        self._owner = owner

    def publish(self, event: IntegrationEvent) -> CloudEvent:
        """Write ``event`` to the outbox and hand it to in-process subscribers."""
        envelope = self._outbox.write(self.session, event)
        self._bus.dispatch(self.session, envelope)
        return envelope

    def commit(self) -> None:
        """Commit, unless this unit of work joined an outer one (which then commits)."""
        if self._owner:
            self.session.commit()

    def joined(self) -> UnitOfWork:
        """A participant in this transaction whose ``commit`` is left to the owner."""
        return UnitOfWork(self.session, self._outbox, self._bus, owner=False)


class UnitOfWorkFactory:
    """Opens units of work (writers) and read-only sessions on one engine."""

    def __init__(self, engine: Engine, outbox: OutboxWriter, bus: EventBus) -> None:
        self._writers = sessionmaker(engine, expire_on_commit=False, autoflush=True)
        self._readers = sessionmaker(engine.execution_options(**{READ_ONLY: True}),
                                     expire_on_commit=False)
        self._outbox = outbox
        self._bus = bus
        self._active: contextvars.ContextVar[UnitOfWork | None] = contextvars.ContextVar(
            f"uow-{id(self)}", default=None
        )

    @contextmanager
    def __call__(self) -> Iterator[UnitOfWork]:
        """Open (or join) a unit of work; anything not committed is rolled back."""
        active = self._active.get()
        if active is not None:
            yield active.joined()
            return
        with self._writers() as session:
            uow = UnitOfWork(session, self._outbox, self._bus)
            token = self._active.set(uow)
            try:
                yield uow
            finally:
                self._active.reset(token)
                session.rollback()  # no-op after a commit

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries; inside a unit of work it reads that transaction's state."""
        active = self._active.get()
        if active is not None:
            yield active.session
            return
        with self._readers() as session:
            try:
                yield session
            finally:
                session.rollback()
