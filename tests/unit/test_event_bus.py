"""The in-process event bus on a real in-memory SQLite session: routing and savepoints."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Column, Engine, MetaData, String, Table, insert, select
from sqlalchemy.orm import Session

from legacy_monolith.platform.event_bus import EventBus
from strangler_messaging import CloudEvent, uuid7
from strangler_messaging.db import make_engine

PLACED = "orders.order.placed.v1"
CANCELLED = "orders.order.cancelled.v1"

metadata = MetaData()
writes = Table("writes", metadata, Column("id", String(36), primary_key=True),
               Column("writer", String(32), nullable=False))


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = make_engine("sqlite://")
    metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


def event(event_type: str = PLACED) -> CloudEvent:
    return CloudEvent(id=str(uuid7()), source="/test", type=event_type, subject="o-1",
                      time=datetime.now(UTC), aggregatetype="order", aggregatesequence=1,
                      origin="test", data={"id": "o-1"})


def write(session: Session, writer: str) -> None:
    session.execute(insert(writes).values(id=str(uuid7()), writer=writer))


def writer(session: Session, name: str, seen: list[str]) -> Callable[[CloudEvent], None]:
    def handle(received: CloudEvent) -> None:
        seen.append(f"{name}:{received.type}")
        write(session, name)
    return handle


def committed_writers(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.scalars(select(writes.c.writer)))


def test_handlers_receive_only_the_types_they_subscribed_to(session: Session) -> None:
    bus, seen = EventBus(), []
    bus.subscribe(PLACED, lambda e: seen.append(f"placed:{e.id}"))
    bus.subscribe(CANCELLED, lambda e: seen.append(f"cancelled:{e.id}"))
    placed, cancelled, other = event(PLACED), event(CANCELLED), event("catalog.product.x.v1")
    write(session, "publisher")
    for published in (placed, other, cancelled):
        bus.dispatch(session, published)
    assert seen == [f"placed:{placed.id}", f"cancelled:{cancelled.id}"]
    assert bus.failures == 0


def test_every_handler_of_a_type_runs_in_subscription_order(session: Session) -> None:
    bus, seen = EventBus(), []
    for name in ("first", "second", "third"):
        bus.subscribe(PLACED, writer(session, name, seen))
    write(session, "publisher")
    bus.dispatch(session, event())
    assert seen == [f"{name}:{PLACED}" for name in ("first", "second", "third")]


def test_a_failing_handler_is_rolled_back_alone(engine: Engine, session: Session,
                                                caplog: pytest.LogCaptureFixture) -> None:
    bus, seen = EventBus(), []

    def broken(received: CloudEvent) -> None:
        write(session, "broken")
        session.flush()
        raise RuntimeError("handler bug")

    bus.subscribe(PLACED, writer(session, "before", seen))
    bus.subscribe(PLACED, broken)
    bus.subscribe(PLACED, writer(session, "after", seen))
    write(session, "publisher")
    bus.dispatch(session, event())
    write(session, "publisher-later")
    session.commit()
    assert committed_writers(engine) == ["after", "before", "publisher", "publisher-later"]
    assert bus.failures == 1
    assert seen == [f"before:{PLACED}", f"after:{PLACED}"]
    [record] = [r for r in caplog.records if r.name == "legacy_monolith.platform.event_bus"]
    assert record.exc_info is not None and str(record.exc_info[1]) == "handler bug"


def test_a_handler_breaking_a_constraint_is_rolled_back_and_the_transaction_goes_on(
        engine: Engine, session: Session) -> None:
    bus = EventBus()
    taken = str(uuid7())
    session.execute(insert(writes).values(id=taken, writer="publisher"))

    def duplicate(_: CloudEvent) -> None:
        write(session, "partial")
        session.execute(insert(writes).values(id=taken, writer="duplicate"))

    bus.subscribe(PLACED, duplicate)
    bus.subscribe(PLACED, writer(session, "ok", []))
    bus.dispatch(session, event())
    session.commit()
    assert committed_writers(engine) == ["ok", "publisher"]
    assert bus.failures == 1


def test_failures_are_counted_across_events(session: Session) -> None:
    bus = EventBus()

    def fail(_: CloudEvent) -> None:
        raise ValueError("no")

    bus.subscribe(PLACED, fail)
    bus.subscribe(CANCELLED, fail)
    bus.subscribe(CANCELLED, fail)
    write(session, "publisher")
    for published in (event(PLACED), event(CANCELLED), event(PLACED)):
        bus.dispatch(session, published)
    assert bus.failures == 4


def test_a_rolled_back_publisher_takes_its_handlers_writes_with_it(
        engine: Engine, session: Session) -> None:
    bus = EventBus()
    bus.subscribe(PLACED, writer(session, "handler", []))
    write(session, "publisher")
    bus.dispatch(session, event())
    session.rollback()
    assert committed_writers(engine) == []
