"""The notifications suite: recording, delivery and end to end, as ratios to the SMTP ceiling.

Everything runs in one :class:`~bench.infra.Sandbox` (own PostgreSQL databases migrated like
``strangler db upgrade notifications``, own vhost, own exchange and queue names), removed at
the end whatever happens. The SMTP sink (``strangler run smtp-sink``) and the worker each run in
a process of their own, as deployed; the ``notifications`` consumer runs in a thread here.

1. **SMTP ceiling** (the baseline): N welcome emails sent with plain ``smtplib`` from 4 threads
   to the sink, a new connection per email as ``SmtpMailer`` does; measured first and last,
   the baseline is their median. Also once with one connection per thread (informative).
2. **Recording**: N ``customers.customer.registered.v1`` events, each followed by its
   ``notifications.handling.decided.v1`` naming the service, pre-loaded into the consumer's
   queue and drained by the real ``ConsumerRunner``: recipient, pending join, notification,
   delivery row and outbox row in the inbox transaction, then one dramatiq job per
   notification enqueued after the commit (publisher confirms). Causing events/s.
3. **Delivery**: the worker (``DeliveryWorker``, 4 threads) sending the N jobs recording left
   queued: claim, SMTP, mark sent. Emails/s until the sink holds N messages.
4. **End to end**: a fresh database and send queue; the worker idle and the sink up, then the
   consumer starts on N pre-loaded registrations (+ decisions): emails/s until N arrived.

After 3 and 4 every delivery must be ``sent`` and the sink must hold N distinct Message-IDs,
exactly those of the deliveries, none twice; otherwise :class:`~bench.BenchError`.

No target: the spec has none for notifications. "Keeps up with the monolith" would need the
monolith's rate of registrations and orders measured in the same run; this suite does not.
"""

from __future__ import annotations

import logging
import multiprocessing
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Engine, func, select

from bench import BenchError, Options, Row
from bench.applying import preload
from bench.cpu import CpuMeter
from bench.infra import Sandbox, amqp_channel, queue_depth, rate_or_zero, running, wait_for
from bench.notifications_setup import (
    SinkProcess,
    process_cpu_seconds,
    registrations,
    sample_emails,
    smtp_ceiling,
    worker_main,
)
from bench.processes import ChildProcess
from bench.workload import Envelope
from extracted.notifications.delivery import DeliverySettings
from extracted.notifications.jobs import DeliveryJobs, make_broker
from extracted.notifications.recording import CONSUMER, notifications_consumer
from extracted.notifications.tables import deliveries, notifications, outbox, pending
from strangler_cli.databases import DATABASES, upgrade
from strangler_messaging.consumer import ConsumerRunner, EventConsumer
from strangler_messaging.consumer_metrics import ConsumerMetrics
from strangler_messaging.db import make_engine
from strangler_messaging.topology import Topology

log = logging.getLogger(__name__)

THREADS = 4
"""Client threads of the ceiling, and worker threads (``strangler run worker``'s default)."""
BASELINE = "SMTP ceiling"


@dataclass(frozen=True, slots=True)
class Sizes:
    """How much work each figure gets."""

    emails: int
    """N: emails of the ceiling, causing events of recording, delivery and end to end."""


FULL = Sizes(emails=1_500)
QUICK = Sizes(emails=200)


def run(options: Options) -> list[Row]:
    """Run every notifications figure once; raises :class:`~bench.BenchError` on a lost or
    duplicated email."""
    count = (QUICK if options.quick else FULL).emails
    with Sandbox() as sandbox:
        topology = Topology(exchange=f"{sandbox.prefix}.events")
        send_queues = [f"{sandbox.prefix}.notifications.send", f"{sandbox.prefix}.e2e.send"]
        log.info("sandbox %s on %s", sandbox.run_id, sandbox.amqp_url)
        rows: list[Row] = []
        ceilings: list[_Ceiling] = []
        try:
            emails = sample_emails(count, "ceiling")
            rows.append(Row("email", "welcome message (mean)",
                            sum(len(c) for _, c in emails) / count, "bytes",
                            note="RFC 5322 as SmtpMailer builds it"))
            with SinkProcess(sandbox.directory, "ceiling") as sink:
                ceilings.append(_ceiling(sink, emails))
                reused = _ceiling(sink, sample_emails(count, "reuse"), reuse=True)
            rows.append(Row(BASELINE, f"smtplib x{THREADS}, one connection per thread",
                            reused.rate, "emails/s",
                            note=f"informative (SmtpMailer opens one per email); {reused.cpu}"))
            rows += recording_and_delivery(sandbox, topology, registrations(count),
                                           send_queues[0])
            rows.append(end_to_end(sandbox, topology, registrations(count), send_queues[1]))
            with SinkProcess(sandbox.directory, "ceiling-end") as sink:
                ceilings.append(_ceiling(sink, sample_emails(count, "ceiling-end")))
        except BenchError as exc:
            exc.rows = rows + exc.rows
            raise
        finally:
            _delete_queues(sandbox, topology, send_queues)
        baseline = statistics.median(c.rate for c in ceilings)
        head = Row(BASELINE, f"smtplib x{THREADS}, new connection per email", baseline,
                   "emails/s", note=f"median of {len(ceilings)}: first {ceilings[0].rate:,.0f} "
                   f"({ceilings[0].cpu}), last {ceilings[-1].rate:,.0f} ({ceilings[-1].cpu})")
        return [rows[0], head, *(replace(row, baseline=BASELINE, ratio=row.value / baseline)
                                 for row in rows[1:])]


@dataclass(frozen=True, slots=True)
class _Ceiling:
    rate: float
    cpu: str


def _ceiling(sink: SinkProcess, emails: Sequence[tuple[str, bytes]], *,
             reuse: bool = False) -> _Ceiling:
    before = sink.count()
    meter = _Meter(sink)
    seconds = smtp_ceiling(sink.port, emails, threads=THREADS, reuse=reuse)
    cpu = meter.note()
    received = sink.count() - before
    if received != len(emails):
        raise BenchError(f"SMTP ceiling: the sink holds {received} of {len(emails)} emails")
    rate = rate_or_zero(len(emails), seconds)
    log.info("SMTP ceiling%s: %.0f emails/s", " (reused connections)" if reuse else "", rate)
    return _Ceiling(rate, cpu)


# -- recording, then delivery of what it queued ------------------------------------------------

def recording_and_delivery(sandbox: Sandbox, topology: Topology, events: Sequence[Envelope],
                           send_queue: str) -> list[Row]:
    """Drain ``events`` through the consumer (jobs pile up), then the worker sends them."""
    count = len(events) // 2
    url = _database(sandbox, "notifications")
    engine = make_engine(url)
    jobs = DeliveryJobs(make_broker(sandbox.amqp_url), engine,
                        DeliverySettings(queue_name=send_queue))
    enqueueing = [0.0]

    def enqueue(ids: Sequence[str]) -> None:  # the real enqueue, timed
        started = time.perf_counter()
        try:
            jobs.enqueue(ids)
        finally:
            enqueueing[0] += time.perf_counter() - started

    try:
        consumer = notifications_consumer(engine, enqueue)
        preload(sandbox, topology, consumer, events)
        metrics = ConsumerMetrics()
        runner = ConsumerRunner(consumer, sandbox.amqp_url, topology=topology, metrics=metrics)
        meter = CpuMeter()
        with running(runner) as errors:
            seconds = wait_for(lambda: _outcome(metrics, "applied") >= len(events),
                               timeout=60 + count / 20, errors=errors,
                               what=f"consumer {CONSUMER} recording {count} notifications")
            cpu = meter.note()
        _check_consumed(sandbox, topology, consumer, metrics, len(events))
        _check_recorded(engine, count, status="pending")
        queued = queue_depth(sandbox.amqp_url, send_queue)
        if queued != count:
            raise BenchError(f"recording enqueued {queued} delivery jobs for {count} "
                             f"notifications")
        batches = _sample(metrics, "consumer_batch_seconds_count") or 1.0
        busy = _sample(metrics, "consumer_batch_seconds_sum")
        rate = rate_or_zero(count, seconds)
        log.info("recording: %.0f causing events/s", rate)
        rows = [Row("recording", "registered + decided -> notification + job", rate,
                    "causing events/s",
                    note=f"each is one email to send; {2 * count / batches:.0f} events/txn, "
                         f"{1000 * busy / batches:.0f} ms/txn of which enqueue "
                         f"{1000 * enqueueing[0] / batches:.0f} ms (confirmed publish per job); "
                         f"{cpu}")]
        rows.append(_delivery(sandbox, engine, url, send_queue, count))
        return rows
    finally:
        jobs.broker.close()
        engine.dispose()


def _delivery(sandbox: Sandbox, engine: Engine, url: str, send_queue: str,
              count: int) -> Row:
    with SinkProcess(sandbox.directory, "delivery") as sink, \
            _Worker(sandbox, url, send_queue, sink.port) as worker:
        meter = _Meter(sink, worker.pid)
        worker.go()
        seconds = wait_for(lambda: worker.alive() and sink.count() >= count,
                           timeout=60 + count / 10, every=0.1,
                           what=f"worker sending {count} queued notifications")
        cpu = meter.note()
    _check_delivered(sandbox, engine, sink, send_queue, worker.samples, count)
    rate = rate_or_zero(count, seconds)
    log.info("delivery: %.0f emails/s", rate)
    return Row("delivery", f"worker x{THREADS}, {count:,} jobs queued", rate, "emails/s",
               note=f"{_outcomes(worker.samples)}; {cpu}")


# -- end to end --------------------------------------------------------------------------------

def end_to_end(sandbox: Sandbox, topology: Topology, events: Sequence[Envelope],
               send_queue: str) -> Row:
    """Consumer + worker + sink on a fresh database: events in the queue -> emails received."""
    count = len(events) // 2
    url = _database(sandbox, "notifications_e2e")
    engine = make_engine(url)
    jobs = DeliveryJobs(make_broker(sandbox.amqp_url), engine,
                        DeliverySettings(queue_name=send_queue))
    try:
        consumer = notifications_consumer(engine, jobs.enqueue)
        preload(sandbox, topology, consumer, events)
        metrics = ConsumerMetrics()
        runner = ConsumerRunner(consumer, sandbox.amqp_url, topology=topology, metrics=metrics)
        first: list[float] = []
        with SinkProcess(sandbox.directory, "e2e") as sink, \
                _Worker(sandbox, url, send_queue, sink.port) as worker:
            worker.go()  # idle until the first job
            meter = _Meter(sink, worker.pid)
            started = time.perf_counter()

            def received_all() -> bool:
                received = sink.count()
                if received and not first:
                    first.append(time.perf_counter() - started)
                return worker.alive() and received >= count

            with running(runner) as errors:
                seconds = wait_for(received_all, timeout=60 + count / 10, every=0.1,
                                   errors=errors, what=f"{count} notifications end to end")
                cpu = meter.note()
        _check_consumed(sandbox, topology, consumer, metrics, len(events))
        _check_delivered(sandbox, engine, sink, send_queue, worker.samples, count)
    finally:
        jobs.broker.close()
        engine.dispose()
    rate = rate_or_zero(count, seconds)
    log.info("end to end: %.0f emails/s", rate)
    return Row("end to end", f"{count:,} registrations queued -> emails received", rate,
               "emails/s", note=f"first email after {1000 * first[0]:.0f} ms; "
                                f"{_outcomes(worker.samples)}; {cpu}")


# -- the components ----------------------------------------------------------------------------

class _Worker:
    """The worker in a child process: built on entry, started by :meth:`go`, stopped on exit."""

    def __init__(self, sandbox: Sandbox, url: str, send_queue: str, smtp_port: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._pid: Any = context.Value("i", 0)
        self._ready = context.Event()
        self._go = context.Event()
        self._child = ChildProcess(worker_main, url, sandbox.amqp_url, send_queue, smtp_port,
                                   THREADS, self._pid, self._ready, self._go, stop_timeout=90)
        self.samples: dict[str, float] = {}

    def __enter__(self) -> _Worker:
        self._child.__enter__()
        try:
            wait_for(lambda: self.alive() and self._ready.is_set(), timeout=60,
                     what="the notifications worker starting")
        except BaseException as exc:
            self._child.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        try:
            self._child.__exit__(kind, error, trace)
        finally:
            self.samples = self._child.samples

    @property
    def pid(self) -> int:
        """The child's process id."""
        return int(self._pid.value)

    def go(self) -> None:
        """Let it consume its send queue."""
        self._go.set()

    def alive(self) -> bool:
        """True while it runs; raises :class:`~bench.BenchError` once it died."""
        self._child.check()
        return True


class _Meter:
    """:class:`~bench.cpu.CpuMeter` plus the sink's (and the worker's) own cores."""

    def __init__(self, sink: SinkProcess, worker_pid: int | None = None) -> None:
        self._sink = sink
        self._pid = worker_pid
        self._started = time.perf_counter()
        self._cpu = (self._worker_cpu(), sink.cpu_seconds())
        self._meter = CpuMeter()

    def _worker_cpu(self) -> float:
        return 0.0 if self._pid is None else process_cpu_seconds(self._pid)

    def note(self) -> str:
        wall = max(time.perf_counter() - self._started, 1e-9)
        worker = (self._worker_cpu() - self._cpu[0]) / wall
        sink = (self._sink.cpu_seconds() - self._cpu[1]) / wall
        mine = f"worker {worker:.2f}, sink {sink:.2f}" if self._pid else f"sink {sink:.2f}"
        return f"{self._meter.note()}; of rest: {mine}"


def _database(sandbox: Sandbox, name: str) -> str:
    url = sandbox.postgres(name)
    upgrade(DATABASES["notifications"], url)
    return url


# -- checks ------------------------------------------------------------------------------------

def _check_consumed(sandbox: Sandbox, topology: Topology, consumer: EventConsumer,
                    metrics: ConsumerMetrics, count: int) -> None:
    applied = _outcome(metrics, "applied")
    others = {name: _outcome(metrics, name) for name in ("duplicate", "stale")}
    dead = queue_depth(sandbox.amqp_url, topology.dead_letter_queue(consumer.name))
    left = queue_depth(sandbox.amqp_url, topology.queue(consumer.name))
    if applied != count or any(others.values()) or dead or left:
        raise BenchError(f"consumer {consumer.name}: applied {applied:.0f} of {count} events, "
                         f"{others}, dead-lettered {dead}, left in its queue {left}")


def _check_recorded(engine: Engine, count: int, *, status: str) -> dict[str, str]:
    """Exactly ``count`` notifications, each with one delivery in ``status``; no pending
    halves; returns the deliveries' Message-IDs by notification id."""
    with engine.connect() as conn:
        recorded = conn.scalar(select(func.count()).select_from(notifications)) or 0
        waiting = conn.scalar(select(func.count()).select_from(pending)) or 0
        events = conn.scalar(select(func.count()).select_from(outbox)) or 0
        statuses: dict[str, int] = dict(conn.execute(select(deliveries.c.status, func.count())
                                     .group_by(deliveries.c.status)).tuples().all())
        ids = dict(conn.execute(select(deliveries.c.notification_id,
                                       deliveries.c.message_id)).tuples().all())
    if (recorded, waiting, events, statuses) != (count, 0, count, {status: count}):
        raise BenchError(f"expected {count} notifications with a delivery each {status!r}, "
                         f"nothing pending and {count} outbox events; found {recorded} "
                         f"notifications, deliveries {statuses}, {waiting} pending, "
                         f"{events} outbox events")
    return ids


def _check_delivered(sandbox: Sandbox, engine: Engine, sink: SinkProcess, send_queue: str,
                     samples: dict[str, float], count: int) -> None:
    """Every delivery sent, the sink holding exactly their Message-IDs once each."""
    expected = set(_check_recorded(engine, count, status="sent").values())
    received = sink.message_ids()
    distinct = set(received)
    if len(received) != count or distinct != expected:
        raise BenchError(f"the sink received {len(received)} emails with {len(distinct)} "
                         f"distinct Message-IDs for {count} deliveries "
                         f"({len(received) - len(distinct)} duplicates, "
                         f"{len(expected - distinct)} missing, "
                         f"{len(distinct - expected)} unknown)")
    left = {name: queue_depth(sandbox.amqp_url, name)
            for name in (send_queue, f"{send_queue}.DQ", f"{send_queue}.XQ")}
    if any(left.values()) or samples.get("sent") != count or samples.get("failed"):
        raise BenchError(f"send queue not drained cleanly: depths {left}, jobs {samples}")


def _outcomes(samples: dict[str, float]) -> str:
    extra = {k: int(v) for k, v in samples.items() if k != "sent" and v}
    return f"jobs sent {int(samples.get('sent', 0))}" + (f", {extra}" if extra else "")


def _outcome(metrics: ConsumerMetrics, name: str) -> float:
    return _sample(metrics, "consumer_events_total", {"outcome": name})


def _sample(metrics: ConsumerMetrics, name: str, labels: dict[str, str] | None = None
            ) -> float:
    return metrics.registry.get_sample_value(name, labels or {}) or 0.0


def _delete_queues(sandbox: Sandbox, topology: Topology, send_queues: Sequence[str]) -> None:
    """Remove the run's queues and exchanges (needed when it had to share the default vhost)."""
    try:
        with amqp_channel(sandbox.amqp_url) as channel:
            for queue in send_queues:
                for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
                    channel.queue_delete(name)
            topology.delete(channel, [CONSUMER])
    except Exception as exc:  # the vhost's deletion removes them anyway
        log.warning("could not delete the run's queues: %r", exc)
