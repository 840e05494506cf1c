"""Crashes of real relay and consumer processes: every event's effect still lands exactly once.

The relay and the consumer run as their own processes and are killed with SIGKILL in the
middle of the stream -- no clean-up, the way an OOM kill or a lost host ends them -- then
started again.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from strangler_cli.databases import DATABASES, upgrade
from strangler_messaging.consumer import ConsumerRunner
from strangler_messaging.relay import Relay, RelaySettings
from strangler_messaging.topology import Topology
from tests.support.messaging import CountingPipeline
from tests.support.processes import PYTHON, free_port, kill, running
from tests.support.waiting import in_thread, wait_until

EVENTS = 20_000


@pytest.fixture(params=["sqlite", "postgresql"])
def pipeline(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CountingPipeline]:
    """The source is a migrated monolith database: `strangler run relay monolith` serves it."""
    if request.param == "sqlite":
        source, target = f"sqlite:///{tmp_path / 'source.db'}", f"sqlite:///{tmp_path / 't.db'}"
    else:
        source = target = request.getfixturevalue("fresh_postgres_url")
    upgrade(DATABASES["monolith"], source)
    made = CountingPipeline(source, target)
    yield made
    made.dispose()


def _env(pipeline: CountingPipeline, amqp_url: str, topology: Topology) -> dict[str, str]:
    return {"MONOLITH_DATABASE_URL": pipeline.source_url, "AMQP_URL": amqp_url,
            "STRANGLER_EVENTS_EXCHANGE": topology.exchange}


def _relay_process(pipeline: CountingPipeline, amqp_url: str, topology: Topology,
                   log: Path):  # type: ignore[no-untyped-def]
    port = free_port()
    return running(["run", "relay", "monolith", "--batch-size", "200", "--metrics-port",
                    str(port)], port=port, env=_env(pipeline, amqp_url, topology), log=log,
                   ready_path="/metrics")


def _assert_exactly_once(pipeline: CountingPipeline, ids: list[str]) -> None:
    applied = pipeline.applied()
    assert set(applied) == set(ids), f"{len(set(ids) - set(applied))} events lost"
    assert set(applied.values()) == {1}, "an effect was applied twice"


def test_a_relay_killed_mid_batch_loses_and_duplicates_nothing(
        pipeline: CountingPipeline, amqp_url: str, topology: Topology,
        amqp_channel: object, tmp_path: Path) -> None:
    consumer = pipeline.consumer("counter")
    topology.declare_consumer(amqp_channel, consumer.spec)  # type: ignore[arg-type]
    ids = pipeline.write(EVENTS, aggregates=100)
    with in_thread(ConsumerRunner(consumer, amqp_url, topology=topology)):
        log = tmp_path / "relay.log"
        with _relay_process(pipeline, amqp_url, topology, log) as relay:
            wait_until(lambda: pipeline.pending() < EVENTS * 0.8, timeout=60,
                       message="a fifth published")
            kill(relay.process)
        left = pipeline.pending()
        assert 0 < left < EVENTS, "the kill should land mid-stream"
        with _relay_process(pipeline, amqp_url, topology, log):
            wait_until(lambda: pipeline.pending() == 0, timeout=120, message="outbox drained")
            wait_until(lambda: len(pipeline.applied()) == EVENTS, timeout=120,
                       message="every event applied")
    _assert_exactly_once(pipeline, ids)


def test_a_consumer_killed_mid_batch_loses_and_duplicates_nothing(
        pipeline: CountingPipeline, amqp_url: str, topology: Topology,
        amqp_channel: object, tmp_path: Path) -> None:
    topology.declare_consumer(amqp_channel, pipeline.consumer("counter").spec)  # type: ignore[arg-type]
    ids = pipeline.write(EVENTS, aggregates=100)
    log = tmp_path / "consumer.log"

    def consumer_process():  # type: ignore[no-untyped-def]
        port = free_port()
        command = [PYTHON, "-m", "tests.support.counting_consumer", pipeline.source_url,
                   pipeline.target_url, "counter", str(port)]
        return running([], port=port, env=_env(pipeline, amqp_url, topology), log=log,
                       ready_path="/metrics", command=command)

    relay = Relay(pipeline.source, pipeline.outbox, amqp_url, topology=topology,
                  settings=RelaySettings(batch_size=500))
    with in_thread(relay):
        with consumer_process() as consumer:
            wait_until(lambda: len(pipeline.applied()) > EVENTS * 0.2, timeout=60,
                       message="a fifth applied")
            kill(consumer.process)
        done = len(pipeline.applied())
        assert 0 < done < EVENTS, "the kill should land mid-stream"
        with consumer_process():
            wait_until(lambda: len(pipeline.applied()) == EVENTS, timeout=120,
                       message="every event applied")
    _assert_exactly_once(pipeline, ids)
