"""End-to-end lag on PostgreSQL: commit in the monolith -> applied in the service's read model.

A writer thread commits one product change + its outbox row per transaction at a steady rate
while a relay and a consumer run (threads of this process). Lag per event is the handler's wall
clock (``applied_log.applied_at``) minus the writer's wall clock right after its commit.

Baseline: a bare AMQP pipe at the same rate (pika publish -> quorum queue -> pika consumer,
no database, no relay), i.e. the latency the broker and client alone add on this machine now.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

import pika
from sqlalchemy import select

from bench import BenchError, Row, verdict
from bench.infra import Sandbox, amqp_channel, running, wait_for
from bench.views import ReadModel, SourceShop
from bench.workload import Envelope
from strangler_messaging.consumer import ConsumerRunner
from strangler_messaging.consumer_metrics import ConsumerMetrics
from strangler_messaging.relay import Relay
from strangler_messaging.relay_metrics import RelayMetrics
from strangler_messaging.topology import Topology

log = logging.getLogger(__name__)

LAG_TARGET_MS = 250.0
WRITE_RATE = 200.0
WARM_UP = 20


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """p50, p95, p99 and max of ``values`` (nearest rank)."""
    ordered = sorted(values)

    def rank(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(p * len(ordered)) - 1))]

    return {"p50": rank(0.50), "p95": rank(0.95), "p99": rank(0.99), "max": ordered[-1]}


def paced(rate: float, seconds: float, action: Callable[[int], object]) -> tuple[int, float]:
    """Call ``action(i)`` ``rate`` times a second for ``seconds``; returns (calls, elapsed).

    Calls are scheduled at fixed instants: one that runs late does not push the others back.
    """
    started = time.perf_counter()
    total = int(rate * seconds)
    for i in range(total):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        action(i)
    return total, time.perf_counter() - started


def bare_pipe(sandbox: Sandbox, topology: Topology, message: Envelope, seconds: float
              ) -> list[float]:
    """Latencies (s) of persistent messages through a quorum queue at :data:`WRITE_RATE`."""
    queue = f"{topology.exchange}.pipe"
    with amqp_channel(sandbox.amqp_url) as channel:
        channel.queue_declare(queue, durable=True, arguments={"x-queue-type": "quorum"})
    latencies: list[float] = []
    total = int(WRITE_RATE * seconds)
    consumer = pika.BlockingConnection(pika.URLParameters(sandbox.amqp_url))
    try:
        receiving = consumer.channel()
        receiving.basic_qos(prefetch_count=500)

        def received(channel: object, method: object, properties: object, _: bytes) -> None:
            latencies.append(time.time() - float(properties.headers["sent_at"]))  # type: ignore[attr-defined]
            receiving.basic_ack(method.delivery_tag)  # type: ignore[attr-defined]

        receiving.basic_consume(queue, received)
        publisher = pika.BlockingConnection(pika.URLParameters(sandbox.amqp_url))
        sending = publisher.channel()

        def send(_: int) -> None:
            properties = pika.BasicProperties(delivery_mode=2, headers={
                "sent_at": repr(time.time()), "traceparent": message.traceparent})
            sending.basic_publish("", queue, message.body, properties)

        thread = threading.Thread(target=paced, args=(WRITE_RATE, seconds, send), daemon=True)
        thread.start()
        deadline = time.monotonic() + seconds + 30
        while len(latencies) < total and time.monotonic() < deadline:
            consumer.process_data_events(time_limit=0.05)
        thread.join(5)
        publisher.close()
    finally:
        if consumer.is_open:
            consumer.close()
        with amqp_channel(sandbox.amqp_url) as channel:
            channel.queue_delete(queue)
    if len(latencies) != total:
        raise BenchError(f"bare pipe: {len(latencies)} of {total} messages arrived")
    return latencies


def lag_rows(sandbox: Sandbox, topology: Topology, message: Envelope, seconds: float,
             pipe_seconds: float) -> list[Row]:
    """The bare-pipe baseline, then the lag of the real pipeline at 200 writes/s."""
    pipe = percentiles(bare_pipe(sandbox, topology, message, pipe_seconds))
    source = SourceShop(sandbox.postgres("source"))
    model = ReadModel(sandbox.postgres("target"))
    consumer = model.consumer("catalog-view", batched=True, log_applied=True)
    commits: dict[str, float] = {}
    try:
        source.seed()
        with amqp_channel(sandbox.amqp_url) as channel:
            topology.declare_consumer(channel, consumer.spec)
        relay_metrics, consumer_metrics = RelayMetrics(), ConsumerMetrics()
        relay = Relay(source.engine, source.outbox, sandbox.amqp_url, topology=topology,
                      metrics=relay_metrics)
        runner = ConsumerRunner(consumer, sandbox.amqp_url, topology=topology,
                                metrics=consumer_metrics)

        def applied(at_least: int) -> bool:
            if relay_errors or consumer_errors:
                raise BenchError(f"lag: a component failed: {relay_errors + consumer_errors}")
            return (consumer_metrics.registry.get_sample_value(
                "consumer_events_total", {"outcome": "applied"}) or 0.0) >= at_least

        def write(i: int) -> None:
            event_id = source.change(i)
            commits[event_id] = time.time()

        with running(relay) as relay_errors, running(runner) as consumer_errors:
            warm_up = [source.change(i) for i in range(WARM_UP)]
            wait_for(lambda: applied(WARM_UP), timeout=60, what="lag warm-up")
            written: list[tuple[int, float]] = []
            writer = threading.Thread(target=lambda: written.append(
                paced(WRITE_RATE, seconds, write)), name="writer", daemon=True)
            writer.start()
            writer.join(seconds + 120)
            if not written:
                raise BenchError("the lag writer did not finish")
            count, elapsed = written[0]
            wait_for(lambda: applied(WARM_UP + count), timeout=60,
                     what="lag: every written event applied")
        pending = source.pending()
        applied_log = model.applied_log()
        with source.engine.connect() as conn:
            outbox = source.outbox
            published = dict(conn.execute(select(outbox.c.id, outbox.c.published_at)).all())
    finally:
        source.engine.dispose()
        model.dispose()
        with amqp_channel(sandbox.amqp_url) as channel:
            channel.queue_delete(topology.queue(consumer.name))
            channel.queue_delete(topology.dead_letter_queue(consumer.name))
    expected = set(commits) | set(warm_up)
    wrong = [i for i in expected if applied_log.get(i, (0.0, 0))[1] != 1]
    if pending or wrong or set(applied_log) != expected:
        raise BenchError(f"lag: {pending} unpublished, {len(wrong)} events not applied exactly "
                         f"once, {len(set(applied_log) - expected)} unknown applied")
    lags = percentiles([applied_log[i][0] - at for i, at in commits.items()])
    relayed = percentiles([published[i].timestamp() - at for i, at in commits.items()])
    rate = count / elapsed
    rows = [Row("bare AMQP pipe", f"latency {k}", 1000 * v, "ms",
                note="pika -> quorum queue -> pika, 200 msgs/s, no database")
            for k, v in pipe.items() if k in ("p50", "p99")]
    rows.append(Row("lag writer", "achieved write rate", rate, "events/s", "requested rate",
                    rate / WRITE_RATE, note=f"{count} events, one per transaction"))
    for key, value in lags.items():
        target = f"<= {LAG_TARGET_MS:.0f} ms" if key == "p99" else ""
        rows.append(Row("end-to-end lag", f"commit -> applied {key}", 1000 * value, "ms",
                        f"bare pipe {key if key in ('p50', 'p99') else 'p99'}",
                        value / pipe[key if key in ("p50", "p99") else "p99"], target,
                        verdict(1000 * value, LAG_TARGET_MS, higher_is_better=False)
                        if target else ""))
    rows.append(Row("end-to-end lag", "commit -> confirmed+marked p50/p99",
                    1000 * relayed["p50"], "ms", note=f"p99 {1000 * relayed['p99']:.0f} ms "
                    "(outbox published_at, ms resolution)"))
    log.info("lag p50 %.0f ms p99 %.0f ms", 1000 * lags["p50"], 1000 * lags["p99"])
    return rows
