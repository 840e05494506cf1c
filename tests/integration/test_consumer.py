"""The consumer runtime against a real RabbitMQ, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pika
import pytest
from pika.adapters.blocking_connection import BlockingChannel
from sqlalchemy import select

from strangler_messaging import CloudEvent
from strangler_messaging.consumer import ConsumerRunner, ConsumerSettings, EventConsumer
from strangler_messaging.consumer_metrics import ConsumerMetrics
from strangler_messaging.dead_letters import list_dead_letters, replay_dead_letters
from strangler_messaging.relay import Relay, RelaySettings
from strangler_messaging.schemas import SchemaRegistry
from strangler_messaging.sqltypes import utc_now
from strangler_messaging.topology import Topology
from tests.support.messaging import COUNTED, CountingPipeline
from tests.support.waiting import in_thread, wait_until

FAST_RELAY = RelaySettings(batch_size=200, idle_poll_max=0.02)
QUICK_RETRIES = ConsumerSettings(backoff=(0.01, 0.02, 0.04))
COUNTER_SCHEMA = {"type": "object", "required": ["n"], "additionalProperties": True,
                  "properties": {"n": {"type": "integer"}}}


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


def _event(aggregate: str, sequence: int, **data: object) -> CloudEvent:
    from strangler_messaging import uuid7

    return CloudEvent(id=str(uuid7()), source="/tests", type=COUNTED, subject=aggregate,
                      time=utc_now(), aggregatetype="counter", aggregatesequence=sequence,
                      origin="tests", data={"n": sequence, **data})


def _publish(channel: BlockingChannel, topology: Topology, body: bytes,
             routing_key: str = COUNTED) -> None:
    channel.basic_publish(topology.exchange, routing_key, body,
                          pika.BasicProperties(content_type="application/cloudevents+json",
                                               delivery_mode=2))


def _declared(channel: BlockingChannel, topology: Topology, consumer: EventConsumer) -> None:
    topology.declare_consumer(channel, consumer.spec)


def test_relay_and_consumer_apply_every_event_exactly_once(
        pipeline: CountingPipeline, amqp_url: str, topology: Topology,
        amqp_channel: BlockingChannel) -> None:
    ids = pipeline.write(3000, aggregates=40)
    consumer = pipeline.consumer("counter")
    _declared(amqp_channel, topology, consumer)
    relay = Relay(pipeline.source, pipeline.outbox, amqp_url, topology=topology,
                  settings=FAST_RELAY)
    with in_thread(ConsumerRunner(consumer, amqp_url, topology=topology)), in_thread(relay):
        wait_until(lambda: len(pipeline.applied()) == len(ids), message="all applied")
    applied = pipeline.applied()
    assert set(applied) == set(ids) and set(applied.values()) == {1}


def test_a_duplicate_delivery_is_applied_once(
        pipeline: CountingPipeline, amqp_url: str, topology: Topology,
        amqp_channel: BlockingChannel) -> None:
    consumer = pipeline.consumer("counter")
    metrics = ConsumerMetrics()
    _declared(amqp_channel, topology, consumer)
    event = _event("a", 1)
    for _ in range(3):
        _publish(amqp_channel, topology, event.to_json())
    _publish(amqp_channel, topology, _event("b", 1).to_json())
    with in_thread(ConsumerRunner(consumer, amqp_url, topology=topology, metrics=metrics)):
        wait_until(lambda: _sample(metrics, "applied") + _sample(metrics, "duplicate") == 4,
                   message="four deliveries handled")
    assert pipeline.applied() == {event.id: 1, pipeline_id(pipeline, "b"): 1}
    assert _sample(metrics, "duplicate") == 2


def pipeline_id(pipeline: CountingPipeline, aggregate: str) -> str:
    with pipeline.target.connect() as conn:
        return str(conn.scalar(select(pipeline.effects.c.event_id).where(
            pipeline.effects.c.aggregateid == aggregate)))


def _sample(metrics: ConsumerMetrics, outcome: str) -> float:
    return metrics.registry.get_sample_value("consumer_events_total",
                                             {"outcome": outcome}) or 0.0


def test_an_older_event_arriving_after_a_newer_one_is_skipped_as_stale(
        pipeline: CountingPipeline, amqp_url: str, topology: Topology,
        amqp_channel: BlockingChannel) -> None:
    consumer = pipeline.consumer("counter")
    metrics = ConsumerMetrics()
    _declared(amqp_channel, topology, consumer)
    newer, older = _event("a", 2), _event("a", 1)
    _publish(amqp_channel, topology, newer.to_json())
    _publish(amqp_channel, topology, older.to_json())
    with in_thread(ConsumerRunner(consumer, amqp_url, topology=topology, metrics=metrics)):
        wait_until(lambda: _sample(metrics, "applied") + _sample(metrics, "stale") == 2,
                   message="both handled")
    assert pipeline.applied() == {newer.id: 1}
    with pipeline.target.connect() as conn:
        rows = conn.execute(select(pipeline.inbox.events.c.event_id,
                                   pipeline.inbox.events.c.outcome))
        outcomes = {event_id: outcome for event_id, outcome in rows}
    assert outcomes == {newer.id: "applied", older.id: "stale"}


def test_poison_messages_go_to_the_dead_letter_queue_and_the_rest_flow_on(
        pipeline: CountingPipeline, amqp_url: str, topology: Topology,
        amqp_channel: BlockingChannel) -> None:
    consumer = EventConsumer("counter", pipeline.consumer("counter").handlers, pipeline.target,
                             pipeline.inbox, schemas=SchemaRegistry({COUNTED: COUNTER_SCHEMA}),
                             settings=QUICK_RETRIES, batched=frozenset({COUNTED}))
    _declared(amqp_channel, topology, consumer)
    good = [_event(f"g{n}", 1) for n in range(5)]
    refused = _event("r", 1, refuse=True)
    bad_schema = CloudEvent(**{**_fields(_event("s", 1)), "data": {"n": "not a number"}})
    missing = json.dumps({"specversion": "1.0", "id": "x", "type": COUNTED}).encode()
    for body in (good[0].to_json(), b"\x00not json", good[1].to_json(), missing,
                 refused.to_json(), good[2].to_json(), bad_schema.to_json(),
                 good[3].to_json(), good[4].to_json()):
        _publish(amqp_channel, topology, body)
    with in_thread(ConsumerRunner(consumer, amqp_url, topology=topology)):
        wait_until(lambda: len(pipeline.applied()) == 5, message="the good events applied")
        wait_until(lambda: _dlq_depth(amqp_channel, topology) == 4, message="four dead letters")
    assert set(pipeline.applied()) == {e.id for e in good}
    letters = list_dead_letters(amqp_channel, topology, "counter")
    reasons = {letter.event_id: letter.reason for letter in letters}
    assert "EnvelopeError: body is not JSON" in reasons[None]
    assert reasons["x"].startswith("EnvelopeError: missing CloudEvents attributes")
    assert reasons[refused.id] == "PermanentError: this counter refuses the event"
    assert reasons[bad_schema.id].startswith("SchemaViolation:")
    # listing leaves them in place (nacks are asynchronous: give the broker a moment)
    wait_until(lambda: _dlq_depth(amqp_channel, topology) == 4, message="dead letters kept")


def _fields(event: CloudEvent) -> dict[str, object]:
    return {name: getattr(event, name) for name in event.__dataclass_fields__}


def _dlq_depth(channel: BlockingChannel, topology: Topology) -> int:
    result = channel.queue_declare(topology.dead_letter_queue("counter"), passive=True)
    return int(result.method.message_count)


def test_a_transient_failure_is_retried_and_then_applied(
        pipeline: CountingPipeline, amqp_url: str, topology: Topology,
        amqp_channel: BlockingChannel) -> None:
    failures = {"left": 2}
    counting = pipeline.consumer("counter").handlers[COUNTED]

    def flaky(session, events):  # type: ignore[no-untyped-def]
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("the downstream hiccuped")
        counting(session, events)

    consumer = EventConsumer("counter", {COUNTED: flaky}, pipeline.target, pipeline.inbox,
                             settings=QUICK_RETRIES, batched=frozenset({COUNTED}))
    _declared(amqp_channel, topology, consumer)
    event = _event("a", 1)
    _publish(amqp_channel, topology, event.to_json())
    with in_thread(ConsumerRunner(consumer, amqp_url, topology=topology)):
        wait_until(lambda: pipeline.applied() == {event.id: 1}, message="applied after retries")
    assert failures["left"] == 0 and _dlq_depth(amqp_channel, topology) == 0


def test_a_failure_that_outlasts_the_retries_is_dead_lettered_then_replayed(
        pipeline: CountingPipeline, amqp_url: str, topology: Topology,
        amqp_channel: BlockingChannel) -> None:
    broken = {"yes": True}
    counting = pipeline.consumer("counter").handlers[COUNTED]

    def until_fixed(session, events):  # type: ignore[no-untyped-def]
        if broken["yes"]:
            raise RuntimeError("bug in the handler")
        counting(session, events)

    consumer = EventConsumer("counter", {COUNTED: until_fixed}, pipeline.target,
                             pipeline.inbox, settings=QUICK_RETRIES, batched=frozenset({COUNTED}))
    _declared(amqp_channel, topology, consumer)
    event = _event("a", 1)
    _publish(amqp_channel, topology, event.to_json())
    with in_thread(ConsumerRunner(consumer, amqp_url, topology=topology)):
        wait_until(lambda: _dlq_depth(amqp_channel, topology) == 1, message="dead-lettered")
        [letter] = list_dead_letters(amqp_channel, topology, "counter")
        assert letter.attempts == 3 and letter.reason == "RuntimeError: bug in the handler"
        broken["yes"] = False
        assert replay_dead_letters(amqp_channel, topology, "counter") == 1
        wait_until(lambda: pipeline.applied() == {event.id: 1}, message="applied on replay")
    assert _dlq_depth(amqp_channel, topology) == 0


def test_events_commit_with_the_state_change_in_one_transaction(
        pipeline: CountingPipeline) -> None:
    """A batch that fails midway leaves neither inbox rows nor effects behind."""
    from strangler_messaging.inbox import Inbox

    events = [_event(f"t{n}", 1) for n in range(3)]
    inbox = Inbox(pipeline.inbox, "counter")
    counting = pipeline.consumer("counter").handlers[COUNTED]
    from sqlalchemy.orm import Session

    with Session(pipeline.target) as session, pytest.raises(RuntimeError), session.begin():
        admission = inbox.admit(session, events)
        counting(session, admission.fresh)
        raise RuntimeError("crash before commit")
    assert pipeline.applied() == {}
    with Session(pipeline.target) as session, session.begin():
        assert len(inbox.admit(session, events).fresh) == 3
