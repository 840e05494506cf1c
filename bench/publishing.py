"""Publishing figures: pika's raw ceiling, and the relay draining an outbox backlog.

The ceiling is measured right before each relay run, into the same queue, so every relay
figure has a baseline taken a few seconds earlier under the same machine load.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import pika
from sqlalchemy import func, select

from bench import BenchError, Row, verdict
from bench.confirmed import publish_confirmed
from bench.cpu import CpuMeter
from bench.infra import (
    Sandbox,
    amqp_channel,
    close_quietly,
    queue_depth,
    rate_or_zero,
    running,
    wait_for,
)
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
    host_busy: list[float] = field(default_factory=list)
    lost: int = 0
    """Messages the broker dropped from the ceiling runs (no confirms)."""

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

    def settle(self, expected: int, what: str, *, may_lose: bool = False) -> tuple[int, int]:
        """Wait (untimed) for ``expected`` messages to be in the queue, then purge it.

        Returns (duplicates, lost). Losing a message is an error unless ``may_lose`` (it was
        published without confirms). A depth that stops moving for 5 s short of ``expected``
        counts as lost.
        """
        url = self.sandbox.amqp_url
        seen = {"depth": -1, "since": time.monotonic()}

        def settled() -> bool:
            depth = queue_depth(url, self.queue)
            if depth != seen["depth"]:
                seen.update(depth=depth, since=time.monotonic())
            return depth >= expected or time.monotonic() - seen["since"] > 5  # stopped moving

        wait_for(settled, timeout=120, every=0.2, what=f"{what}: {expected} in {self.queue}")
        time.sleep(0.2)  # let anything in flight land before counting
        depth = queue_depth(url, self.queue)
        with amqp_channel(url) as channel:
            channel.queue_purge(self.queue)
        if depth < expected and not may_lose:
            raise BenchError(f"{what}: {expected - depth} of {expected} messages lost "
                             f"({depth} in {self.queue})")
        return max(0, depth - expected), max(0, expected - depth)

    def ceiling(self, messages: Sequence[Envelope]) -> float:
        """msgs/s of one BlockingConnection publishing ``messages`` without confirms."""
        connection = pika.BlockingConnection(pika.URLParameters(self.sandbox.amqp_url))
        try:
            channel = connection.channel()
            started = time.perf_counter()
            meter = CpuMeter()
            publish(channel, self.topology.exchange, messages)
            channel.queue_declare(self.queue, passive=True)  # round trip: all reached the broker
            seconds = time.perf_counter() - started
            host = meter.host_busy()
        finally:
            close_quietly(connection)
        self.lost += self.settle(len(messages), f"ceiling {self.kind}", may_lose=True)[1]
        rate = rate_or_zero(len(messages), seconds)
        self.ceilings.append(rate)
        if host is not None:
            self.host_busy.append(host)
        log.info("ceiling %s: %.0f msgs/s", self.kind, rate)
        return rate

    def ceiling_row(self) -> Row:
        """The ceiling's median over this run, with its spread."""
        low, high = min(self.ceilings), max(self.ceilings)
        median = statistics.median(self.ceilings)
        busy = (f"; host {100 * min(self.host_busy):.0f}-{100 * max(self.host_busy):.0f}% busy"
                if self.host_busy else "")
        if self.lost:
            busy += f"; {self.lost} messages lost (no confirms)"
        return Row("publish ceiling", f"{self.kind} queue", median, "msgs/s",
                   note=f"median of {len(self.ceilings)}, range {low:,.0f}-{high:,.0f}; "
                        f"pika BlockingConnection, no confirms{busy}")


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

        meter = CpuMeter()
        with running(relay) as errors:
            seconds = wait_for(lambda: published() >= count, timeout=60 + count / 500,
                               errors=errors, what=f"relay {backend} {batch_size}/{max_in_flight}")
            cpu = meter.note()
        with engine.connect() as conn:
            pending = conn.scalar(select(func.count()).select_from(table).where(
                table.c.published_at.is_(None)))
        if pending:
            raise BenchError(f"relay {backend}: {pending} rows still unpublished")
        case = f"{backend}, {sink.kind}, {batch_size}/{max_in_flight}"
        duplicates = sink.settle(count, f"relay {case}")[0]
    finally:
        engine.dispose()
    rate = rate_or_zero(count, seconds)
    registry = metrics.registry
    batches = registry.get_sample_value("relay_batch_confirm_seconds_count") or 0.0
    confirm = registry.get_sample_value("relay_batch_confirm_seconds_sum") or 0.0
    unconfirmed = registry.get_sample_value("relay_unconfirmed_events_total") or 0.0
    note = f"batch publish->marked avg {1000 * confirm / max(batches, 1):.0f} ms; {cpu}"
    if unconfirmed or duplicates:
        note += f"; unconfirmed {unconfirmed:.0f}, duplicates {duplicates}"
    log.info("relay %s: %.0f events/s (%s)", case, rate, note)
    return Row("relay throughput", case, rate, "events/s", f"ceiling {sink.kind} (adjacent)",
               rate / ceiling if ceiling else None, f">= {RELAY_TARGET:,.0f}/s",
               verdict(rate, RELAY_TARGET), note)


def confirmed_ceiling(sink: Sink, messages: Sequence[Envelope]) -> Row:
    """msgs/s publishing ``messages`` with pipelined confirms: the relay minus its database."""
    meter = CpuMeter()
    started = time.perf_counter()
    publish_confirmed(sink.sandbox.amqp_url, sink.topology.exchange, messages)
    seconds = time.perf_counter() - started
    cpu = meter.note()
    sink.settle(len(messages), f"confirmed ceiling {sink.kind}")
    return Row("publish ceiling", f"{sink.kind} queue, with confirms",
               rate_or_zero(len(messages), seconds), "msgs/s",
               note=f"once; pika SelectConnection, pipelined confirms (<= 2000 unconfirmed), "
                    f"no database; {cpu}")


def combine(runs: Sequence[Row]) -> Row:
    """One row for the runs of a case: median rate, median ratio, every run in the note."""
    if len(runs) == 1:
        return runs[0]
    value = statistics.median(r.value for r in runs)
    ratios = [r.ratio for r in runs if r.ratio is not None]
    each = ", ".join(f"{r.value:,.0f} ({r.ratio or 0:.2f}x)" for r in runs)
    return replace(runs[-1], value=value, ratio=statistics.median(ratios) if ratios else None,
                   verdict=verdict(value, RELAY_TARGET),
                   note=f"median of {len(runs)} runs: {each}; last run: {runs[-1].note}")


def publishing_rows(sandbox: Sandbox, topology: Topology, messages: Sequence[Envelope],
                    settings: Sequence[tuple[int, int]] = SETTINGS, rounds: int = 1
                    ) -> list[Row]:
    """Ceilings for a quorum and a classic queue; the relay on PostgreSQL and SQLite.

    Every ``(batch_size, max_in_flight)`` of ``settings`` runs on both databases into the
    quorum queue, ``rounds`` times (every other round in reverse order, so a drifting load
    favours no case); the first also runs on PostgreSQL into the classic queue.
    """
    count = len(messages)
    postgres = sandbox.postgres("relay")
    ceilings: list[Row] = []
    relay_rows: list[Row] = []
    sinks = [Sink(sandbox, topology, "quorum"), Sink(sandbox, topology, "classic")]
    for sink in sinks:
        sink.declare()
        try:
            sink.ceiling(messages[: min(count, 2000)])  # warm-up, not reported
            sink.ceilings.clear()
            ceilings.append(confirmed_ceiling(sink, messages))
            if sink.kind == "quorum":
                cases = [("postgresql", *s) for s in settings]
                cases += [("sqlite", *s) for s in settings]
            else:
                cases = [("postgresql", *settings[0])]
            runs: dict[tuple[str, int, int], list[Row]] = {case: [] for case in cases}
            for n in range(rounds):
                for backend, batch_size, max_in_flight in cases[::-1 if n % 2 else 1]:
                    ceiling = sink.ceiling(messages)
                    url = postgres if backend == "postgresql" else sandbox.sqlite(
                        f"relay-{batch_size}-{max_in_flight}")
                    runs[backend, batch_size, max_in_flight].append(relay_run(
                        sink, url, count, batch_size, max_in_flight, backend, ceiling))
            relay_rows += [combine(each) for each in runs.values()]
        finally:
            sink.delete()
    return [row for sink, confirmed in zip(sinks, ceilings, strict=True)
            for row in (sink.ceiling_row(), confirmed)] + relay_rows
