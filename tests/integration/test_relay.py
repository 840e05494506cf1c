"""The outbox relay against a real RabbitMQ, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from pika.adapters.blocking_connection import BlockingChannel
from sqlalchemy import func, insert, select

from strangler_messaging import TraceContext, use_trace
from strangler_messaging.relay import Relay, RelaySettings
from strangler_messaging.relay_metrics import RelayMetrics
from strangler_messaging.sqltypes import utc_now
from strangler_messaging.topology import Topology
from tests.support.messaging import COUNTED, CountingPipeline
from tests.support.tcp_proxy import CuttableProxy
from tests.support.waiting import in_thread, wait_until

FAST = RelaySettings(batch_size=200, idle_poll_max=0.02, housekeeping_every=0.2)


@pytest.fixture(params=["sqlite", "postgresql"])
def pipeline(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CountingPipeline]:
    if request.param == "sqlite":
        made = CountingPipeline(f"sqlite:///{tmp_path / 'source.db'}",
                                f"sqlite:///{tmp_path / 'target.db'}")
    else:
        url = request.getfixturevalue("fresh_postgres_url")
        made = CountingPipeline(url, url)
    yield made
    made.dispose()


def _sink(channel: BlockingChannel, topology: Topology, name: str = "sink") -> str:
    topology.declare_exchanges(channel)
    queue = f"{topology.exchange}.{name}"
    channel.queue_declare(queue, durable=True)
    channel.queue_bind(queue, topology.exchange, routing_key="#")
    return queue


def _drain(channel: BlockingChannel, queue: str) -> list[dict]:  # type: ignore[type-arg]
    bodies = []
    while True:
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            return bodies
        assert properties.content_type == "application/cloudevents+json"
        assert properties.delivery_mode == 2
        bodies.append(json.loads(body))


def test_every_event_is_published_once_and_in_order_per_aggregate(
        pipeline: CountingPipeline, amqp_url: str, topology: Topology,
        amqp_channel: BlockingChannel) -> None:
    queue = _sink(amqp_channel, topology)
    ids = pipeline.write(3000, aggregates=25)
    relay = Relay(pipeline.source, pipeline.outbox, amqp_url, topology=topology, settings=FAST)
    with in_thread(relay):
        wait_until(lambda: pipeline.pending() == 0, message="outbox drained")
    events = _drain(amqp_channel, queue)
    assert sorted(e["id"] for e in events) == sorted(ids)
    by_aggregate: dict[str, list[int]] = defaultdict(list)
    for event in events:
        assert event["type"] == COUNTED
        by_aggregate[event["subject"]].append(event["aggregatesequence"])
    assert all(seqs == list(range(1, len(seqs) + 1)) for seqs in by_aggregate.values())


def test_a_row_that_commits_late_is_not_skipped(
        fresh_postgres_url: str, amqp_url: str, topology: Topology,
        amqp_channel: BlockingChannel) -> None:
    """Position 1 commits after position 2 was published: it must still be published."""
    pipeline = CountingPipeline(fresh_postgres_url, fresh_postgres_url)
    queue = _sink(amqp_channel, topology)
    relay = Relay(pipeline.source, pipeline.outbox, amqp_url, topology=topology, settings=FAST)
    late = pipeline.source.connect()
    transaction = late.begin()
    late.execute(insert(pipeline.outbox).values(_row("late")))  # takes position 1, uncommitted
    try:
        with in_thread(relay):
            with pipeline.source.begin() as conn:
                conn.execute(insert(pipeline.outbox).values(_row("early")))
            wait_until(lambda: pipeline.pending() == 0, message="the early row published")
            transaction.commit()
            wait_until(lambda: pipeline.pending() == 0, message="the late row published")
    finally:
        late.close()
        pipeline.dispose()
    assert [e["subject"] for e in _drain(amqp_channel, queue)] == ["early", "late"]


def _row(aggregate: str) -> dict[str, object]:
    return {"id": f"00000000-0000-7000-8000-{abs(hash(aggregate)) % 10**12:012d}",
            "aggregatetype": "counter", "aggregateid": aggregate, "type": COUNTED,
            "sequence": 1, "payload": "{}", "source": "/tests", "origin": "tests",
            "occurred_at": utc_now()}


def test_an_event_nobody_listens_to_lands_in_the_unrouted_queue(
        pipeline: CountingPipeline, amqp_url: str, topology: Topology,
        amqp_channel: BlockingChannel) -> None:
    [event_id] = pipeline.write(1)
    relay = Relay(pipeline.source, pipeline.outbox, amqp_url, topology=topology, settings=FAST)
    with in_thread(relay):
        wait_until(lambda: pipeline.pending() == 0, message="outbox drained")
    assert [e["id"] for e in _drain(amqp_channel, topology.unrouted_queue)] == [event_id]


def test_a_cut_connection_loses_nothing(
        pipeline: CountingPipeline, amqp_url: str, topology: Topology,
        amqp_channel: BlockingChannel) -> None:
    queue = _sink(amqp_channel, topology)
    proxy = CuttableProxy("127.0.0.1", 5672)
    via_proxy = amqp_url.replace("127.0.0.1:5672", f"127.0.0.1:{proxy.port}")
    ids = pipeline.write(6000, aggregates=30)
    relay = Relay(pipeline.source, pipeline.outbox, via_proxy, topology=topology,
                  settings=RelaySettings(batch_size=100, max_in_flight=2, reconnect_min=0.05))
    try:
        with in_thread(relay):
            wait_until(lambda: pipeline.pending() < 5000, message="publishing started")
            proxy.cut(refuse=True)
            remaining = pipeline.pending()
            proxy.restore()
            wait_until(lambda: pipeline.pending() == 0, timeout=60, message="outbox drained")
    finally:
        proxy.close()
    assert 0 < remaining < 6000
    assert proxy.connections >= 2
    received = [e["id"] for e in _drain(amqp_channel, queue)]
    assert set(received) == set(ids)  # nothing lost; duplicates are allowed and expected


def test_only_one_of_two_relays_publishes_and_the_other_takes_over(
        pipeline: CountingPipeline, amqp_url: str, topology: Topology,
        amqp_channel: BlockingChannel) -> None:
    queue = _sink(amqp_channel, topology)
    first_metrics, second_metrics = RelayMetrics(), RelayMetrics()
    first = Relay(pipeline.source, pipeline.outbox, amqp_url, topology=topology,
                  settings=FAST, metrics=first_metrics)
    second = Relay(pipeline.source, pipeline.outbox, amqp_url, topology=topology,
                   settings=RelaySettings(batch_size=200, leadership_retry=0.1),
                   metrics=second_metrics)
    ids = pipeline.write(1000)
    with in_thread(second):
        with in_thread(first):
            wait_until(lambda: pipeline.pending() == 0, message="outbox drained")
            published = [_value(first_metrics), _value(second_metrics)]
            assert sorted(published) == [0, 1000]
        more = pipeline.write(500)  # the leader stopped: the standby must take over
        wait_until(lambda: pipeline.pending() == 0, message="standby took over")
    assert _value(first_metrics) + _value(second_metrics) == 1500
    received = [e["id"] for e in _drain(amqp_channel, queue)]
    assert sorted(received) == sorted(ids + more)


def _value(metrics: RelayMetrics) -> int:
    return int(metrics.registry.get_sample_value("relay_published_events_total") or 0)


def test_published_rows_older_than_the_retention_are_purged(
        pipeline: CountingPipeline, amqp_url: str, topology: Topology,
        amqp_channel: BlockingChannel) -> None:
    _sink(amqp_channel, topology)
    pipeline.write(300)
    settings = RelaySettings(batch_size=100, housekeeping_every=0.1,
                             retention=timedelta(seconds=0))
    relay = Relay(pipeline.source, pipeline.outbox, amqp_url, topology=topology,
                  settings=settings)

    def rows() -> int:
        with pipeline.source.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(pipeline.outbox)) or 0)

    with in_thread(relay):
        wait_until(lambda: rows() == 0, message="published rows purged")


def test_the_relay_keeps_retrying_a_broker_that_is_away_and_then_publishes(
        pipeline: CountingPipeline, amqp_url: str, topology: Topology,
        amqp_channel: BlockingChannel) -> None:
    queue = _sink(amqp_channel, topology)
    ids = pipeline.write(10)
    proxy = CuttableProxy("127.0.0.1", 5672)
    proxy.cut(refuse=True)
    via_proxy = amqp_url.replace("127.0.0.1:5672", f"127.0.0.1:{proxy.port}")
    relay = Relay(pipeline.source, pipeline.outbox, via_proxy, topology=topology,
                  settings=RelaySettings(reconnect_min=0.05, reconnect_max=0.2))
    try:
        with in_thread(relay):
            wait_until(lambda: proxy.refused >= 3, message="three connection attempts")
            assert pipeline.pending() == 10
            proxy.restore()
            wait_until(lambda: pipeline.pending() == 0, message="outbox drained")
    finally:
        proxy.close()
    assert sorted(e["id"] for e in _drain(amqp_channel, queue)) == sorted(ids)


def test_messages_carry_the_trace_context(
        pipeline: CountingPipeline, amqp_url: str, topology: Topology,
        amqp_channel: BlockingChannel) -> None:
    queue = _sink(amqp_channel, topology)
    trace = TraceContext.new_root()
    with use_trace(trace):
        pipeline.write(1)
    relay = Relay(pipeline.source, pipeline.outbox, amqp_url, topology=topology, settings=FAST)
    with in_thread(relay):
        wait_until(lambda: pipeline.pending() == 0, message="outbox drained")
    method, properties, body = amqp_channel.basic_get(queue, auto_ack=True)
    assert method is not None
    assert properties.headers["traceparent"] == trace.traceparent
    assert json.loads(body)["traceparent"] == trace.traceparent
