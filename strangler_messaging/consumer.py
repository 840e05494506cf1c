"""The consumer runtime: applies integration events from RabbitMQ exactly once per effect.

For every batch of deliveries (up to ``batch_size``, or what arrived within ``linger``):

1. parse the envelope and validate ``data`` against its schema -- anything malformed is a
   poison message and goes to the consumer's dead-letter queue with the reason in its headers;
2. in ONE database transaction: admit the events through the inbox (duplicates and stale
   events are dropped and recorded), run each fresh event's handler, commit;
3. only then ack the deliveries (one ``multiple`` ack).

If a handler raises, the batch is rolled back and replayed one event per transaction to find
the culprit: a :class:`PermanentError` (or a schema violation) is dead-lettered at once; other
errors get ``max_attempts`` tries with backoff and are then dead-lettered. A database that does
not answer is not the event's fault: the consumer waits and retries without dead-lettering.
Messages a crash left unacked come back (redelivery); the broker's delivery limit dead-letters a
message that keeps killing the process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from strangler_messaging.consumer_metrics import ConsumerMetrics
from strangler_messaging.dead_letters import DeadLetterer
from strangler_messaging.envelope import CloudEvent, EnvelopeError
from strangler_messaging.inbox import Inbox, InboxTables
from strangler_messaging.schemas import SchemaRegistry, SchemaViolation
from strangler_messaging.topology import ConsumerSpec, Topology
from strangler_messaging.tracing import TraceContext, use_trace

log = logging.getLogger(__name__)

Handler = Callable[[Session, CloudEvent], None]
"""Applies one event inside the consumer's transaction; never commits."""

BatchHandler = Callable[[Session, Sequence[CloudEvent]], None]
"""Applies consecutive events of one type at once (e.g. with one executemany); never commits."""


class PermanentError(Exception):
    """The event can never be applied (it contradicts the consumer's rules): dead-letter it."""


@dataclass(frozen=True, slots=True)
class ConsumerSettings:
    """Tuning knobs of a consumer."""

    prefetch: int = 500
    batch_size: int = 200
    linger: float = 0.005
    max_attempts: int = 3
    backoff: tuple[float, ...] = (0.05, 0.25, 1.0)
    database_retry_max: float = 15.0
    delivery_limit: int = 10


@dataclass(slots=True)
class _Delivery:
    tag: int
    body: bytes
    properties: Any
    routing_key: str
    event: CloudEvent | None = None
    attempts: int = 0
    error: str = ""


@dataclass(frozen=True, slots=True)
class EventConsumer:
    """What a consumer is: a name, its handlers by event type, and where its state lives."""

    name: str
    handlers: Mapping[str, Handler | BatchHandler]
    engine: Engine
    inbox_tables: InboxTables
    schemas: SchemaRegistry | None = None
    settings: ConsumerSettings = field(default_factory=ConsumerSettings)
    batched: frozenset[str] = frozenset()
    """Event types whose handler is a :data:`BatchHandler`."""
    own_origin: str | None = None
    """Events whose ``origin`` is this are this side's own writes coming back (two-way sync):
    acknowledged, never applied. With the per-aggregate sequence check this stops echo loops."""

    @property
    def spec(self) -> ConsumerSpec:
        """Its queue in the topology."""
        return ConsumerSpec(self.name, tuple(sorted(self.handlers)),
                            delivery_limit=self.settings.delivery_limit)


class ConsumerRunner:
    """Runs one :class:`EventConsumer` against RabbitMQ until :meth:`stop`."""

    def __init__(self, consumer: EventConsumer, amqp_url: str, *,
                 topology: Topology | None = None, metrics: ConsumerMetrics | None = None
                 ) -> None:
        self._consumer = consumer
        self._params = pika.URLParameters(amqp_url)
        self._topology = topology or Topology()
        self._metrics = metrics or ConsumerMetrics()
        self._sessions = sessionmaker(consumer.engine, expire_on_commit=False)
        self._inbox = Inbox(consumer.inbox_tables, consumer.name)
        self._stop = threading.Event()
        self._settings = consumer.settings

    def stop(self) -> None:
        """Finish the current batch, then return from :meth:`run` (any thread, signals)."""
        self._stop.set()

    def run(self) -> None:
        """Consume, reconnecting with backoff, until stopped."""
        backoff = 0.2
        while not self._stop.is_set():
            try:
                self._consume()
                backoff = 0.2
            except _Stopping:
                break
            except pika.exceptions.AMQPError as exc:
                if self._stop.is_set():
                    break
                log.warning("broker connection lost (%r); reconnecting in %.1fs", exc, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)

    def _consume(self) -> None:
        connection = pika.BlockingConnection(self._params)
        try:
            channel = connection.channel()
            self._topology.declare_consumer(channel, self._consumer.spec)
            channel.basic_qos(prefetch_count=self._settings.prefetch)
            dead_letters = DeadLetterer(connection.channel(), self._topology, self._consumer.name)
            queue = self._topology.queue(self._consumer.name)
            batch: list[_Delivery] = []
            deadline = 0.0
            wake = min(self._settings.linger, 0.05)  # a lone message must not wait 50 ms
            for method, properties, body in channel.consume(queue, inactivity_timeout=wake):
                if method is not None:
                    if not batch:
                        deadline = time.monotonic() + self._settings.linger
                    batch.append(_Delivery(method.delivery_tag, body, properties,
                                           method.routing_key))
                full = len(batch) >= self._settings.batch_size
                if batch and (full or method is None or time.monotonic() >= deadline):
                    self._handle_batch(channel, dead_letters, batch)
                    batch = []
                if self._stop.is_set() and not batch:
                    break
            channel.cancel()  # unacked prefetched messages go back to the queue
        finally:
            if connection.is_open:
                connection.close()

    # -- one batch -----------------------------------------------------------------------

    def _handle_batch(self, channel: BlockingChannel, dead_letters: DeadLetterer,
                      batch: list[_Delivery]) -> None:
        valid = [d for d in batch if self._decode(d)]
        for delivery in batch:
            if delivery.event is None:
                log.error("dead-lettering a %s message that is not a valid event: %s",
                          delivery.routing_key, delivery.error)
                self._dead_letter(channel, dead_letters, delivery)
        if valid:
            try:
                self._apply(valid)
            except Exception as exc:
                if _is_database_down(exc):
                    self._wait_for_database(valid)
                else:
                    log.warning("batch of %d failed (%r); applying one by one", len(valid), exc)
                    for delivery in valid:
                        self._apply_alone(channel, dead_letters, delivery)
                    return
            channel.basic_ack(valid[-1].tag, multiple=True)

    def _decode(self, delivery: _Delivery) -> bool:
        try:
            event = CloudEvent.from_json(delivery.body)
            if event.type not in self._consumer.handlers:
                raise EnvelopeError(f"no handler for {event.type}")
            if self._consumer.schemas is not None:
                self._consumer.schemas.validate(event)
        except (EnvelopeError, SchemaViolation) as exc:
            delivery.error = f"{type(exc).__name__}: {exc}"
            return False
        delivery.event = event
        return True

    def _apply(self, deliveries: Sequence[_Delivery]) -> None:
        own = self._consumer.own_origin
        events = [d.event for d in deliveries
                  if d.event is not None and (own is None or d.event.origin != own)]
        if not events:
            return
        started = time.perf_counter()
        with self._sessions() as session, session.begin():
            admission = self._inbox.admit(session, events)
            for run in _runs_of_one_type(admission.fresh):
                handler: Any = self._consumer.handlers[run[0].type]
                if run[0].type in self._consumer.batched:
                    handler(session, run)
                    continue
                for event in run:
                    trace = TraceContext.continue_from(event.traceparent, event.tracestate)
                    with use_trace(trace):
                        log.debug("applying %s %s seq %d", event.type, event.subject,
                                  event.aggregatesequence)
                        handler(session, event)
        self._metrics.applied(admission, time.perf_counter() - started)

    def _apply_alone(self, channel: BlockingChannel, dead_letters: DeadLetterer,
                     delivery: _Delivery) -> None:
        while True:
            try:
                self._apply([delivery])
            except Exception as exc:
                if _is_database_down(exc):
                    self._wait_for_database([delivery])
                    continue
                delivery.attempts += 1
                delivery.error = f"{type(exc).__name__}: {exc}"
                permanent = isinstance(exc, PermanentError)
                if permanent or delivery.attempts >= self._settings.max_attempts:
                    log.error("dead-lettering %s after %d attempt(s): %s", delivery.routing_key,
                              delivery.attempts, delivery.error)
                    self._dead_letter(channel, dead_letters, delivery)
                    return
                pause = self._settings.backoff[min(delivery.attempts - 1,
                                                   len(self._settings.backoff) - 1)]
                time.sleep(pause)
                continue
            channel.basic_ack(delivery.tag)
            return

    def _dead_letter(self, channel: BlockingChannel, dead_letters: DeadLetterer,
                     delivery: _Delivery) -> None:
        dead_letters.send(delivery.body, delivery.properties, routing_key=delivery.routing_key,
                          reason=delivery.error, attempts=delivery.attempts)
        channel.basic_ack(delivery.tag)
        self._metrics.dead_lettered.inc()

    def _wait_for_database(self, deliveries: Sequence[_Delivery]) -> None:
        pause = 0.5
        while not self._stop.is_set():
            log.warning("database unavailable; retrying %d events in %.1fs",
                        len(deliveries), pause)
            time.sleep(pause)
            try:
                self._apply(deliveries)
                return
            except Exception as exc:
                if not _is_database_down(exc):
                    raise
                pause = min(pause * 2, self._settings.database_retry_max)
        raise _Stopping


def _runs_of_one_type(events: Sequence[CloudEvent]) -> list[list[CloudEvent]]:
    """Split into consecutive runs of one type, keeping the order across types."""
    runs: list[list[CloudEvent]] = []
    for event in events:
        if runs and runs[-1][0].type == event.type:
            runs[-1].append(event)
        else:
            runs.append([event])
    return runs


class _Stopping(Exception):
    """Stop requested while waiting for the database; deliveries stay unacked."""


def _is_database_down(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated)
