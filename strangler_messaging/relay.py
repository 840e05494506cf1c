"""The outbox relay: publishes committed outbox rows to RabbitMQ, exactly in insert order.

One batch at a time: read up to ``batch_size`` unpublished rows, publish them all with
``mandatory`` and persistent delivery on a channel in confirm mode, and mark the rows published
only when the broker has confirmed every one of them. Confirms are collected asynchronously
(pika's ``SelectConnection``), so a batch of N costs one round trip, not N.

Failure handling, in short: a nack, a returned (unroutable) message, a confirm timeout or a lost
connection leaves the affected rows unpublished, and they are published again -- a duplicate is
recoverable downstream (inbox), a gap is not. Only the relay holding the outbox's lock publishes
(see :mod:`strangler_messaging.leadership`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pika
from pika.adapters.select_connection import SelectConnection
from pika.channel import Channel
from sqlalchemy import Engine, Table

from strangler_messaging.envelope import CONTENT_TYPE
from strangler_messaging.leadership import Leadership, leadership_for, wait_for_leadership
from strangler_messaging.outbox import outbox_status
from strangler_messaging.outbox_store import (
    envelope_json,
    fetch_pending,
    mark_published,
    purge_published,
)
from strangler_messaging.relay_metrics import RelayMetrics
from strangler_messaging.sqltypes import utc_now
from strangler_messaging.topology import Topology

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RelaySettings:
    """Tuning knobs of a relay; the defaults suit a local PostgreSQL or SQLite."""

    batch_size: int = 1000
    max_in_flight: int = 4
    confirm_timeout: float = 10.0
    idle_poll_min: float = 0.002
    idle_poll_max: float = 0.05
    retention: timedelta | None = timedelta(days=7)
    housekeeping_every: float = 5.0
    reconnect_min: float = 0.2
    reconnect_max: float = 10.0
    leadership_retry: float = 1.0


class Relay:
    """Publishes one database's outbox; :meth:`run` blocks until :meth:`stop`."""

    _in_flight: deque[_Batch]
    _outstanding: dict[int, tuple[_Batch, int, str]]
    _returned: set[str]
    _next_tag: int
    _lowest_tag: int

    def __init__(self, engine: Engine, table: Table, amqp_url: str, *,
                 topology: Topology | None = None, settings: RelaySettings | None = None,
                 metrics: RelayMetrics | None = None, leadership: Leadership | None = None
                 ) -> None:
        self._engine = engine
        self._table = table
        self._params = pika.URLParameters(amqp_url)
        self._topology = topology or Topology()
        self._settings = settings or RelaySettings()
        self._metrics = metrics or RelayMetrics()
        self._lock = leadership or leadership_for(engine, f"relay-{table.name}")
        self._stop = threading.Event()
        self._connection: SelectConnection | None = None
        self._channel: Channel | None = None
        self._opened = False
        self._idle = 0.0
        self._reset_batch()

    # -- lifecycle -----------------------------------------------------------------------

    def run(self) -> None:
        """Wait for leadership, then publish until stopped, reconnecting with backoff."""
        if not wait_for_leadership(self._lock, retry_every=self._settings.leadership_retry,
                                   should_stop=self._stop.is_set):
            return
        log.info("relay for %s is the active publisher", self._table.name)
        backoff = self._settings.reconnect_min
        try:
            while not self._stop.is_set():
                self._run_connection()
                if self._stop.is_set():
                    break
                if not self._lock.still_held():
                    log.error("relay lost its lock; waiting to become leader again")
                    self._lock.release()
                    if not wait_for_leadership(self._lock,
                                               retry_every=self._settings.leadership_retry,
                                               should_stop=self._stop.is_set):
                        break
                backoff = self._settings.reconnect_min if self._opened else min(
                    backoff * 2, self._settings.reconnect_max)
                log.warning("broker connection lost; reconnecting in %.1fs", backoff)
                self._stop.wait(backoff)
        finally:
            self._lock.release()

    def stop(self) -> None:
        """Ask the relay to finish its batch and return from :meth:`run` (any thread)."""
        self._stop.set()
        connection = self._connection
        if connection is not None:
            with suppress(Exception):  # the loop is already closed
                connection.ioloop.add_callback_threadsafe(self._close_when_idle)

    def _run_connection(self) -> None:
        self._opened = False
        try:
            self._declare_topology()
        except pika.exceptions.AMQPError as exc:
            log.warning("cannot reach the broker: %r", exc)
            return
        self._connection = SelectConnection(
            self._params, on_open_callback=self._on_connection_open,
            on_open_error_callback=self._on_connection_error,
            on_close_callback=self._on_connection_closed)
        try:
            self._connection.ioloop.start()
        finally:
            self._connection = None
            self._channel = None
            self._reset_batch()

    def _declare_topology(self) -> None:
        connection = pika.BlockingConnection(self._params)
        try:
            self._topology.declare_exchanges(connection.channel())
        finally:
            connection.close()

    # -- connection callbacks ------------------------------------------------------------

    def _on_connection_open(self, connection: SelectConnection) -> None:
        connection.channel(on_open_callback=self._on_channel_open)

    def _on_connection_error(self, connection: SelectConnection, error: BaseException) -> None:
        log.warning("broker connection failed: %r", error)
        connection.ioloop.stop()

    def _on_connection_closed(self, connection: SelectConnection, reason: BaseException) -> None:
        if not self._stop.is_set():
            log.warning("broker connection closed: %r", reason)
        connection.ioloop.stop()

    def _on_channel_open(self, channel: Channel) -> None:
        self._channel = channel
        channel.add_on_close_callback(self._on_channel_closed)
        channel.add_on_return_callback(self._on_return)
        channel.confirm_delivery(self._on_confirm, callback=self._on_confirm_mode)

    def _on_channel_closed(self, channel: Channel, reason: BaseException) -> None:
        if not self._stop.is_set():
            log.warning("channel closed: %r", reason)
        if self._connection is not None and self._connection.is_open:
            self._connection.close()

    def _on_confirm_mode(self, _frame: Any) -> None:
        self._opened = True
        self._reset_batch()
        self._later(0, self._poll)
        self._later(self._settings.housekeeping_every, self._housekeeping)

    def _close_when_idle(self) -> None:
        if not self._in_flight and self._connection is not None and self._connection.is_open:
            self._connection.close()

    # -- the publishing loop -------------------------------------------------------------

    def _poll(self) -> None:
        if self._stop.is_set():
            self._close_when_idle()
            return
        if len(self._in_flight) >= self._settings.max_in_flight or self._channel is None \
                or not self._channel.is_open:
            return
        window = ((self._in_flight[0].positions[0], self._in_flight[-1].positions[-1])
                  if self._in_flight else None)
        try:
            with self._engine.connect() as conn:
                rows = fetch_pending(conn, self._table, self._settings.batch_size, window)
        except Exception:
            log.exception("reading the outbox failed; retrying")
            self._later(1.0, self._poll)
            return
        if not rows:
            if not self._in_flight:
                self._idle = min(max(self._idle * 2, self._settings.idle_poll_min),
                                 self._settings.idle_poll_max)
                self._later(self._idle, self._poll)
            return
        self._idle = 0.0
        self._publish(rows)
        self._later(0, self._poll)  # fill the pipeline while confirms are on their way

    def _publish(self, rows: Any) -> None:
        assert self._channel is not None
        exchange = self._topology.exchange
        batch = _Batch(first_tag=self._next_tag, started=time.perf_counter())
        for row in rows:
            headers = {"traceparent": row.traceparent} if row.traceparent else None
            properties = pika.BasicProperties(
                content_type=CONTENT_TYPE, delivery_mode=2, message_id=row.id, type=row.type,
                headers=headers)
            self._channel.basic_publish(exchange, row.type, envelope_json(row), properties,
                                        mandatory=True)
            self._outstanding[self._next_tag] = (batch, row.position, row.id)
            batch.positions.append(row.position)
            self._next_tag += 1
        batch.remaining = len(rows)
        batch.deadline = self._later(self._settings.confirm_timeout, self._on_confirm_timeout)
        self._in_flight.append(batch)

    def _on_return(self, _channel: Channel, method: Any, properties: Any, _body: bytes) -> None:
        log.error("broker returned event %s (%s): %s", properties.message_id,
                  method.routing_key, method.reply_text)
        self._returned.add(properties.message_id)

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        acked = isinstance(method, pika.spec.Basic.Ack)
        tag = method.delivery_tag
        tags = range(self._lowest_tag, tag + 1) if method.multiple else (tag,)
        for each in tags:
            entry = self._outstanding.pop(each, None)
            if entry is None:
                continue
            batch, position, event_id = entry
            batch.remaining -= 1
            if acked and event_id not in self._returned:
                batch.confirmed.append(position)
            else:
                self._returned.discard(event_id)
                batch.failed += 1
        if method.multiple:
            self._lowest_tag = tag + 1
        self._complete_in_order()

    def _complete_in_order(self) -> None:
        """Mark finished batches published, strictly in publication order.

        A batch with a failure stops the line: the connection is closed, every batch still
        in flight is dropped, and everything from the failed batch on is published again in
        order -- never a later event before an earlier one it failed to deliver.
        """
        done: list[_Batch] = []
        while self._in_flight and self._in_flight[0].remaining == 0:
            batch = self._in_flight.popleft()
            if self._connection is not None:
                self._connection.ioloop.remove_timeout(batch.deadline)
            if batch.failed:
                log.warning("%d events of a batch were not confirmed; republishing from there",
                            batch.failed)
                self._metrics.batch_confirmed(0, batch.failed, 0.0)
                self._mark(done)
                self._restart()
                return
            done.append(batch)
        if done:
            self._mark(done)
            self._later(0, self._poll)

    def _mark(self, batches: list[_Batch]) -> None:
        positions = [p for batch in batches for p in batch.confirmed]
        if not positions:
            return
        try:
            with self._engine.begin() as conn:
                mark_published(conn, self._table, positions, utc_now())
        except Exception:
            # The events are on the broker but not marked: they will go out again, and the
            # consumers' inboxes drop the duplicates.
            log.exception("marking %d events published failed", len(positions))
            self._restart()
            return
        now = time.perf_counter()
        for batch in batches:
            self._metrics.batch_confirmed(len(batch.confirmed), 0, now - batch.started)

    def _restart(self) -> None:
        if self._connection is not None and self._connection.is_open:
            self._connection.close()

    def _on_confirm_timeout(self) -> None:
        log.error("no confirm within %.1fs for %d events; reconnecting",
                  self._settings.confirm_timeout, len(self._outstanding))
        self._restart()

    def _housekeeping(self) -> None:
        try:
            with self._engine.begin() as conn:
                status = outbox_status(conn, self._table)
                purged = 0
                if self._settings.retention is not None:
                    purged = purge_published(conn, self._table,
                                             utc_now() - self._settings.retention, 10_000)
            self._metrics.backlog(status.pending, status.oldest_pending_age_seconds(), purged)
        except Exception:
            log.exception("outbox housekeeping failed")
        if not self._lock.still_held():
            log.error("relay lost its lock; stopping publication")
            if self._connection is not None and self._connection.is_open:
                self._connection.close()
            return
        self._later(self._settings.housekeeping_every, self._housekeeping)

    # -- helpers -------------------------------------------------------------------------

    def _later(self, delay: float, callback: Any) -> Any:
        assert self._connection is not None
        return self._connection.ioloop.call_later(delay, callback)

    def _reset_batch(self) -> None:
        self._in_flight = deque()
        self._outstanding = {}
        self._returned: set[str] = set()
        self._next_tag = 1
        self._lowest_tag = 1


@dataclass(slots=True)
class _Batch:
    """Events published together and confirmed (or not) together."""

    first_tag: int
    started: float
    positions: list[int] = field(default_factory=list)
    confirmed: list[int] = field(default_factory=list)
    remaining: int = 0
    failed: int = 0
    deadline: Any = None
