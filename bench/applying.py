"""Consumer apply rate on PostgreSQL: a pre-loaded queue drained through inbox + handler.

Baseline: the handler's SQL alone (the same upserts, ``executemany`` in transactions of the
consumer's batch size, straight to the database), so the ratio shows what the consumer runtime
-- broker, decoding, schema validation, inbox and sequence check -- costs on top.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence

from bench import BenchError, Row, verdict
from bench.confirmed import publish_confirmed
from bench.cpu import CpuMeter
from bench.infra import (
    Sandbox,
    amqp_channel,
    queue_depth,
    rate_or_zero,
    running,
    wait_for,
)
from bench.views import UPSERT, ReadModel, view_params
from bench.workload import AGGREGATES, Envelope
from strangler_messaging.consumer import ConsumerRunner, ConsumerSettings, EventConsumer
from strangler_messaging.consumer_metrics import ConsumerMetrics
from strangler_messaging.topology import Topology

log = logging.getLogger(__name__)

CONSUMER_TARGET = 3_000.0


def sql_only_rate(model: ReadModel, messages: Sequence[Envelope], batch_size: int) -> float:
    """events/s of the handler's upserts alone, one transaction per ``batch_size`` events."""
    docs = [json.loads(m.body) for m in messages]
    model.reset()
    started = time.perf_counter()
    for start in range(0, len(docs), batch_size):
        with model.engine.begin() as conn:
            at = time.time()
            conn.execute(UPSERT, [view_params(d, at) for d in docs[start:start + batch_size]])
    seconds = time.perf_counter() - started
    model.reset()
    return rate_or_zero(len(docs), seconds)


def preload(sandbox: Sandbox, topology: Topology, consumer: EventConsumer,
            messages: Sequence[Envelope]) -> None:
    """Declare the consumer's queue and publish ``messages`` straight into it (no relay).

    With confirms, pipelined: without, a busy broker may drop some (see :mod:`bench.confirmed`).
    """
    with amqp_channel(sandbox.amqp_url) as channel:
        topology.declare_consumer(channel, consumer.spec)
    publish_confirmed(sandbox.amqp_url, topology.exchange, messages)
    queue = topology.queue(consumer.name)
    try:
        wait_for(lambda: queue_depth(sandbox.amqp_url, queue) >= len(messages), timeout=120,
                 every=0.2, what=f"pre-loading {len(messages)} events into {queue}")
    except BenchError as exc:
        depths = {name: queue_depth(sandbox.amqp_url, name) for name in (
            queue, topology.dead_letter_queue(consumer.name), topology.unrouted_queue)}
        raise BenchError(f"{exc}; queue depths {depths}") from None


def expected_version_sum(count: int) -> int:
    """Sum over products of the newest version :func:`bench.workload.outbox_rows` gave them."""
    newest: dict[int, int] = {}
    for i in range(count):
        newest[i % AGGREGATES] = 2 + i // AGGREGATES
    return sum(newest.values())


def drain(sandbox: Sandbox, topology: Topology, model: ReadModel, consumer: EventConsumer,
          count: int) -> tuple[float, str]:
    """Run the consumer until ``count`` events are applied; returns (seconds, note)."""
    metrics = ConsumerMetrics()
    runner = ConsumerRunner(consumer, sandbox.amqp_url, topology=topology, metrics=metrics)
    registry = metrics.registry

    def outcome(name: str) -> float:
        return registry.get_sample_value("consumer_events_total", {"outcome": name}) or 0.0

    meter = CpuMeter()
    with running(runner) as errors:
        seconds = wait_for(lambda: outcome("applied") >= count, timeout=60 + count / 100,
                           errors=errors, what=f"consumer {consumer.name}")
        cpu = meter.note()
    totals = model.totals()
    expected = {"inbox_applied": count, "inbox_other": 0, "upserts": count,
                "products": min(count, AGGREGATES), "version_sum": expected_version_sum(count),
                "behind": 0}
    dead = queue_depth(sandbox.amqp_url, topology.dead_letter_queue(consumer.name))
    left = queue_depth(sandbox.amqp_url, topology.queue(consumer.name))
    if totals != expected or dead or left or outcome("duplicate") or outcome("stale"):
        raise BenchError(f"consumer {consumer.name} did not apply every event exactly once: "
                         f"{totals} (expected {expected}), dead-lettered {dead}, left {left}")
    batches = registry.get_sample_value("consumer_batch_seconds_count") or 1.0
    busy = registry.get_sample_value("consumer_batch_seconds_sum") or 0.0
    note = (f"{count / batches:.0f} events/txn, {1000 * busy / batches:.1f} ms/txn, "
            f"{100 * busy / seconds:.0f}% in txn; {cpu}")
    return seconds, note


def applying_rows(sandbox: Sandbox, topology: Topology, messages: Sequence[Envelope]
                  ) -> list[Row]:
    """The SQL-only baseline, then the consumer with a batch handler and a per-event one."""
    count = len(messages)
    model = ReadModel(sandbox.postgres("consumer"))
    rows: list[Row] = []
    try:
        batch_size = ConsumerSettings().batch_size
        baseline = sql_only_rate(model, messages, batch_size)
        rows.append(Row("handler SQL alone", f"postgresql, executemany x{batch_size}", baseline,
                        "events/s", note="same upserts, no broker/inbox/decoding"))
        for batched in (True, False):
            consumer = model.consumer("view-batch" if batched else "view-single",
                                      batched=batched)
            preload(sandbox, topology, consumer, messages)
            try:
                seconds, note = drain(sandbox, topology, model, consumer, count)
            finally:
                with amqp_channel(sandbox.amqp_url) as channel:
                    channel.queue_delete(topology.queue(consumer.name))
                    channel.queue_delete(topology.dead_letter_queue(consumer.name))
                model.reset()
            rate = rate_or_zero(count, seconds)
            log.info("consumer %s: %.0f events/s (%s)", consumer.name, rate, note)
            case = "postgresql, " + ("batch handler" if batched else "per-event handler")
            rows.append(Row("consumer apply", case, rate, "events/s", "handler SQL alone",
                            rate / baseline if baseline else None,
                            f">= {CONSUMER_TARGET:,.0f}/s", verdict(rate, CONSUMER_TARGET),
                            note))
    finally:
        model.dispose()
    return rows
