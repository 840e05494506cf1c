"""Backfill and reconcile through the real pipe: outbox, relay, RabbitMQ, inbox consumer."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pika.adapters.blocking_connection import BlockingChannel
from sqlalchemy import delete, func, select, update

from strangler_messaging.backfill import Backfill
from strangler_messaging.consumer import ConsumerRunner
from strangler_messaging.reconcile import compare, repair
from strangler_messaging.relay import Relay, RelaySettings
from strangler_messaging.topology import Topology
from tests.support.items import SNAPSHOT, ItemStates, ItemWorld
from tests.support.waiting import in_thread, wait_until

ITEMS = 1200


@pytest.fixture(params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ItemWorld]:
    if request.param == "sqlite":
        made = ItemWorld(f"sqlite:///{tmp_path / 'source.db'}",
                         f"sqlite:///{tmp_path / 'target.db'}")
    else:
        url = request.getfixturevalue("fresh_postgres_url")
        made = ItemWorld(url, url)
    yield made
    made.dispose()


def _drift(world: ItemWorld):  # type: ignore[no-untyped-def]
    return compare(ItemStates(world.source, world.items), ItemStates(world.target, world.copies),
                   chunk=200)


def _snapshot_rows(world: ItemWorld) -> int:
    with world.source.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(world.outbox)
                               .where(world.outbox.c.type == SNAPSHOT)) or 0)


def test_an_interrupted_backfill_resumes_after_its_last_chunk(world: ItemWorld) -> None:
    world.create(ITEMS)
    backfill = Backfill(world.source, world.snapshots(), world.writer, world.progress,
                        chunk_size=100)
    first = backfill.run(max_chunks=3)
    assert (first.emitted, first.finished) == (300, False)
    second = backfill.run()
    assert second.resumed_after == "item-0299" and second.finished
    assert first.emitted + second.emitted == ITEMS == _snapshot_rows(world)
    assert backfill.run(restart=True).emitted == ITEMS  # a finished backfill starts over


def test_backfill_alongside_live_writes_converges_with_zero_drift(
        world: ItemWorld, amqp_url: str, topology: Topology,
        amqp_channel: BlockingChannel) -> None:
    world.create(ITEMS)
    consumer = world.consumer()
    topology.declare_consumer(amqp_channel, consumer.spec)
    relay = Relay(world.source, world.outbox, amqp_url, topology=topology,
                  settings=RelaySettings(batch_size=200, idle_poll_max=0.02))
    stop = threading.Event()

    def live_traffic() -> None:
        n = 0
        while not stop.is_set():
            world.change(f"item-{(n * 37) % ITEMS:04d}", f"live-{n}")
            n += 1

    with in_thread(ConsumerRunner(consumer, amqp_url, topology=topology)), in_thread(relay):
        writer = threading.Thread(target=live_traffic)
        writer.start()
        try:
            Backfill(world.source, world.snapshots(), world.writer, world.progress,
                     chunk_size=50).run()
        finally:
            stop.set()
            writer.join()
        wait_until(lambda: _drift(world).total == 0, timeout=60, message="zero drift")
    drift = _drift(world)
    assert drift.compared == ITEMS and drift.total == 0


def test_reconcile_finds_each_kind_of_drift_and_repair_removes_it(
        world: ItemWorld, amqp_url: str, topology: Topology,
        amqp_channel: BlockingChannel) -> None:
    world.create(200)
    consumer = world.consumer()
    topology.declare_consumer(amqp_channel, consumer.spec)
    relay = Relay(world.source, world.outbox, amqp_url, topology=topology,
                  settings=RelaySettings(batch_size=200, idle_poll_max=0.02))
    with in_thread(ConsumerRunner(consumer, amqp_url, topology=topology)), in_thread(relay):
        Backfill(world.source, world.snapshots(), world.writer, world.progress).run()
        wait_until(lambda: _drift(world).total == 0, message="backfilled")
        with world.target.begin() as conn:  # damage the copy three ways
            conn.execute(delete(world.copies).where(world.copies.c.id == "item-0007"))
            conn.execute(update(world.copies).where(world.copies.c.id == "item-0042")
                         .values(value="corrupted"))
            conn.execute(world.copies.insert().values(id="item-9999", value="ghost", version=4))
        drift = _drift(world)
        assert drift.missing == ["item-0007"]
        assert [d.key for d in drift.different] == ["item-0042"]
        assert [e.key for e in drift.extra] == ["item-9999"]
        assert repair(world.source, world.snapshots(), world.writer, drift) == 3
        wait_until(lambda: _drift(world).total == 0, message="repaired")
    with world.target.connect() as conn:
        value = conn.scalar(select(world.copies.c.value).where(world.copies.c.id == "item-0042"))
    assert value == "v42"
