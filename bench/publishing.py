"""Publishing figures: pika's raw ceiling, and the relay draining an outbox backlog.

The ceiling is measured right before each relay run, into the same queue, so every relay
figure has a baseline taken a few seconds earlier under the same machine load.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import pika
from sqlalchemy import func, select

from bench import BenchError, Row, verdict
from bench.infra import Sandbox, amqp_channel, queue_depth, rate_or_zero, running, wait_for
from bench.workload import Envelope, fill_outbox, outbox_table, publish
from strangler_messaging.db import make_engine
from strangler_messaging.relay import Relay, RelaySettings
from strangler_messaging.relay_metrics import RelayMetrics
from strangler_messaging.topology import Topology

log = logging.getLogger(__name__)

RELAY_TARGET = 10_000.0
SETTINGS: tuple[tuple[int, int], ...] = ((500, 4), (1000, 4), (500, 8))
"""``(batch_size, max_in_flight)`` combinations tried; the first is the library default."""


@dataclass
class Sink:
    """One durable queue bound ``#`` to the event exchange: where every event lands."""

    sandbox: Sandbox
    topology: Topology
    kind: str
    ceilings: list[float] = field(default_factory=list)

    @property
    def queue(self) -> str:
        """The queue's name."""
        return f"{self.topology.exchange}.sink-{self.kind}"

    def declare(self) -> None:
        """Declare the relay's exchanges and this queue."""
        with amqp_channel(self.sandbox.amqp_url) as channel:
            self.topology.declare_exchanges(channel)
            channel.queue_declare(self.queue, durable=True,
                                  arguments={"x-queue-type": self.kind})
            channel.queue_bind(self.queue, self.topology.exchange, routing_key="#")

    def delete(self) -> None:
        """Remove the queue."""
        with amqp_channel(self.sandbox.amqp_url) as channel:
            channel.queue_delete(self.queue)

    def settle(self, expected: int, what: str) -> int:
        """Wait (untimed) for ``expected`` messages, check none is missing, then purge.

        Returns how many more than ``expected`` arrived (duplicates).
        """
        url = self.sandbox.amqp_url
        try:
            wait_for(lambda: queue_depth(url, self.queue) >= expected, timeout=60,
                     every=0.2, what=f"{what}: {expected} messages in {self.queue}")
        except BenchError:
            depth = queue_depth(url, self.queue)
            raise BenchError(f"{what}: {expected - depth} of {expected} messages lost "
                             f"({depth} in {self.queue})") from None
        time.sleep(0.2)  # let anything in flight land before counting duplicates
        extra = queue_depth(url, self.queue) - expected
        with amqp_channel(url) as channel:
            channel.queue_purge(self.queue)
        return extra

    def ceiling(self, messages: Sequence[Envelope]) -> float:
        """msgs/s of one BlockingConnection publishing ``messages`` without confirms."""
        connection = pika.BlockingConnection(pika.URLParameters(self.sandbox.amqp_url))
        try:
            channel = connection.channel()
            started = time.perf_counter()
            publish(channel, self.topology.exchange, messages)
            channel.queue_declare(self.queue, passive=True)  # round trip: all reached the broker
            seconds = time.perf_counter() - started
        finally:
            connection.close()
        self.settle(len(messages), f"ceiling {self.kind}")
        rate = rate_or_zero(len(messages), seconds)
        self.ceilings.append(rate)
        log.info("ceiling %s: %.0f msgs/s", self.kind, rate)
        return rate

    def ceiling_row(self) -> Row:
        """The ceiling's median over this run, with its spread."""
        low, high = min(self.ceilings), max(self.ceilings)
        median = statistics.median(self.ceilings)
        return Row("publish ceiling", f"{self.kind} queue", median, "msgs/s",
                   note=f"median of {len(self.ceilings)}, range {low:,.0f}-{high:,.0f}; "
                        "pika BlockingConnection, no confirms")


def relay_run(sink: Sink, url: str, count: int, batch_size: int, max_in_flight: int,
              backend: str, ceiling: float) -> Row:
    """Fill an outbox with ``count`` rows, time the relay until all are confirmed and marked."""
    engine = make_engine(url)
    table = outbox_table()
    try:
        fill_outbox(engine, table, count)
        metrics = RelayMetrics()
        settings = RelaySettings(batch_size=batch_size, max_in_flight=max_in_flight)
        relay = Relay(engine, table, sink.sandbox.amqp_url, topology=sink.topology,
                      settings=settings, metrics=metrics)

        def published() -> float:
            return metrics.registry.get_sample_value("relay_published_events_total") or 0.0

        with running(relay) as errors:
            seconds = wait_for(lambda: published() >= count, timeout=60 + count / 500,
                               errors=errors, what=f"relay {backend} {batch_size}/{max_in_flight}")
        with engine.connect() as conn:
            pending = conn.scalar(select(func.count()).select_from(table).where(
                table.c.published_at.is_(None)))
        if pending:
            raise BenchError(f"relay {backend}: {pending} rows still unpublished")
        case = f"{backend}, {sink.kind}, {batch_size}/{max_in_flight}"
        duplicates = sink.settle(count, f"relay {case}")
    finally:
        engine.dispose()
    rate = rate_or_zero(count, seconds)
    registry = metrics.registry
    batches = registry.get_sample_value("relay_batch_confirm_seconds_count") or 0.0
    confirm = registry.get_sample_value("relay_batch_confirm_seconds_sum") or 0.0
    unconfirmed = registry.get_sample_value("relay_unconfirmed_events_total") or 0.0
    note = f"batch confirm avg {1000 * confirm / max(batches, 1):.0f} ms"
    if unconfirmed or duplicates:
        note += f"; unconfirmed {unconfirmed:.0f}, duplicates {duplicates}"
    log.info("relay %s: %.0f events/s (%s)", case, rate, note)
    return Row("relay throughput", case, rate, "events/s", f"ceiling {sink.kind} (adjacent)",
               rate / ceiling if ceiling else None, f">= {RELAY_TARGET:,.0f}/s",
               verdict(rate, RELAY_TARGET), note)


def publishing_rows(sandbox: Sandbox, topology: Topology, messages: Sequence[Envelope]
                    ) -> list[Row]:
    """Ceilings for a quorum and a classic queue; the relay on PostgreSQL and SQLite."""
    count = len(messages)
    postgres = sandbox.postgres("relay")
    relay_rows: list[Row] = []
    sinks = [Sink(sandbox, topology, "quorum"), Sink(sandbox, topology, "classic")]
    for sink in sinks:
        sink.declare()
        try:
            sink.ceiling(messages[: min(count, 2000)])  # warm-up, not reported
            sink.ceilings.clear()
            if sink.kind == "quorum":
                cases = [("postgresql", *s) for s in SETTINGS]
                cases += [("sqlite", *s) for s in SETTINGS]
            else:
                cases = [("postgresql", *SETTINGS[0])]
            for backend, batch_size, max_in_flight in cases:
                ceiling = sink.ceiling(messages)
                url = postgres if backend == "postgresql" else sandbox.sqlite(
                    f"relay-{batch_size}-{max_in_flight}")
                relay_rows.append(relay_run(sink, url, count, batch_size, max_in_flight,
                                            backend, ceiling))
        finally:
            sink.delete()
    return [sink.ceiling_row() for sink in sinks] + relay_rows
