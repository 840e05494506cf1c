"""End-to-end lag on PostgreSQL: commit in the monolith -> applied in the service's read model.

Writer threads commit one product change + its outbox row per transaction at a steady rate
while a relay and a consumer run, each in a process of its own as in a deployment (see
:mod:`bench.processes`). Lag per event is the handler's wall clock (``applied_log.applied_at``)
minus the writer's wall clock right after its commit.

Baseline: a bare AMQP pipe at the same rate (pika publish -> quorum queue -> pika consumer,
no database, no relay), i.e. the latency the broker and client alone add on this machine now.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import pika
from sqlalchemy import func, select

from bench import BenchError, Row, verdict
from bench.cpu import CpuMeter
from bench.infra import Sandbox, amqp_channel, close_quietly, wait_for
from bench.processes import ChildProcess, Samples, consumer_main, relay_main
from bench.views import ReadModel, SourceShop
from bench.workload import Envelope
from strangler_messaging.topology import Topology

log = logging.getLogger(__name__)

LAG_TARGET_MS = 250.0
WRITE_RATE = 200.0
WRITERS = 2
"""Writer threads sharing :data:`WRITE_RATE` (each its own products), like request workers."""
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

        def received(channel: object, method: Any, properties: Any, _: bytes) -> None:
            latencies.append(time.time() - float(properties.headers["sent_at"]))
            receiving.basic_ack(method.delivery_tag)

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
        close_quietly(publisher)
    finally:
        close_quietly(consumer)
        with amqp_channel(sandbox.amqp_url) as channel:
            channel.queue_delete(queue)
    if len(latencies) != total:
        raise BenchError(f"bare pipe: {len(latencies)} of {total} messages arrived")
    return latencies


def lag_rows(sandbox: Sandbox, topology: Topology, message: Envelope, seconds: float,
             pipe_seconds: float) -> list[Row]:
    """The bare-pipe baseline, then the lag of the real pipeline at 200 writes/s."""
    pipe = percentiles(bare_pipe(sandbox, topology, message, pipe_seconds))
    source_url, target_url = sandbox.postgres("source"), sandbox.postgres("target")
    source, model = SourceShop(source_url), ReadModel(target_url)
    name = "catalog-view"
    commits: dict[str, float] = {}
    try:
        source.seed()
        with amqp_channel(sandbox.amqp_url) as channel:
            topology.declare_consumer(channel, model.consumer(name, batched=True).spec)
        relay = ChildProcess(relay_main, source_url, sandbox.amqp_url, topology.exchange)
        consumer = ChildProcess(consumer_main, target_url, sandbox.amqp_url, topology.exchange,
                                name)

        def applied(at_least: int) -> bool:
            relay.check()
            consumer.check()
            with model.engine.connect() as conn:
                return int(conn.scalar(select(func.count()).select_from(model.log)) or 0) \
                    >= at_least

        def write(i: int) -> None:
            event_id = source.change(i)
            commits[event_id] = time.time()

        with relay, consumer:
            warm_up = [source.change(i) for i in range(WARM_UP)]
            wait_for(lambda: applied(WARM_UP), timeout=120, what="lag warm-up")
            meter = CpuMeter()
            count, elapsed = _write(write, seconds)
            cpu = meter.note()
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
            channel.queue_delete(topology.queue(name))
            channel.queue_delete(topology.dead_letter_queue(name))
    expected = set(commits) | set(warm_up)
    wrong = [i for i in expected if applied_log.get(i, (0.0, 0))[1] != 1]
    if pending or wrong or set(applied_log) != expected:
        raise BenchError(f"lag: {pending} unpublished, {len(wrong)} events not applied exactly "
                         f"once, {len(set(applied_log) - expected)} unknown applied")
    lags = percentiles([applied_log[i][0] - at for i, at in commits.items()])
    relayed = percentiles([published[i].timestamp() - at for i, at in commits.items()])
    log.info("lag p50 %.0f ms p99 %.0f ms", 1000 * lags["p50"], 1000 * lags["p99"])
    writers = (f"{count} events, one per transaction, {WRITERS} writer threads; {cpu}; "
               "python = the writers, the relay and consumer processes are in rest")
    return _rows(pipe, lags, relayed, count / elapsed, writers, relay.samples, consumer.samples)


def _write(write: Callable[[int], None], seconds: float) -> tuple[int, float]:
    """:data:`WRITERS` threads share :data:`WRITE_RATE`; returns (events, elapsed)."""
    written: list[tuple[int, float]] = []

    def writer(k: int) -> None:
        written.append(paced(WRITE_RATE / WRITERS, seconds, lambda i: write(i * WRITERS + k)))

    threads = [threading.Thread(target=writer, args=(k,), name=f"writer-{k}", daemon=True)
               for k in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 120)
    if len(written) != WRITERS:
        raise BenchError("a lag writer failed or did not finish")
    return sum(n for n, _ in written), max(t for _, t in written)


def _rows(pipe: dict[str, float], lags: dict[str, float], relayed: dict[str, float],
          rate: float, writers: str, relay: Samples, consumer: Samples) -> list[Row]:
    rows = [Row("bare AMQP pipe", f"latency {k}", 1000 * v, "ms",
                note="pika -> quorum queue -> pika, 200 msgs/s, no database")
            for k, v in pipe.items() if k in ("p50", "p99")]
    rows.append(Row("lag writer", "achieved write rate", rate, "events/s", "requested rate",
                    rate / WRITE_RATE, note=writers))
    for key, value in lags.items():
        base = key if key in ("p50", "p99") else "p99"
        target = f"<= {LAG_TARGET_MS:.0f} ms" if key == "p99" else ""
        rows.append(Row("end-to-end lag", f"commit -> applied {key}", 1000 * value, "ms",
                        f"bare pipe {base}", value / pipe[base], target,
                        verdict(1000 * value, LAG_TARGET_MS, higher_is_better=False)
                        if target else ""))
    batches = relay.get("relay_batch_confirm_seconds_count") or 1.0
    confirm = 1000 * relay.get("relay_batch_confirm_seconds_sum", 0.0) / batches
    per_batch = relay.get("relay_published_events_total", 0.0) / batches
    rows.append(Row("end-to-end lag", "commit -> confirmed+marked p50",
                    1000 * relayed["p50"], "ms", note=f"p99 {1000 * relayed['p99']:.0f} ms "
                    f"(outbox published_at, ms resolution); relay: {per_batch:.1f} "
                    f"events/batch, publish->marked avg {confirm:.1f} ms"))
    txns = consumer.get("consumer_batch_seconds_count") or 1.0
    applied = consumer.get("consumer_events_total{outcome=applied}", 0.0)
    rows.append(Row("end-to-end lag", "consumer transaction", 1000 * consumer.get(
        "consumer_batch_seconds_sum", 0.0) / txns, "ms", note=f"{applied / txns:.1f} "
        "events/txn (inbox + upsert + applied_log)"))
    return rows
