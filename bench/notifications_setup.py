"""Pieces of the notifications suite: its events, the SMTP sink and the worker as processes.

- :func:`registrations`: ``customers.customer.registered.v1`` events, each followed by the
  monolith's ``notifications.handling.decided.v1`` naming the service, as the relay publishes
  them (ADR 0009), checked against ``contracts/events``;
- :class:`SinkProcess`: ``strangler run smtp-sink`` in a process of its own, writing every
  accepted message to a maildir (counted while running, read for Message-IDs afterwards);
- :func:`worker_main`: the notifications worker (``DeliveryWorker``: dramatiq's worker with 4
  threads and the sweeper) in a child process, as ``strangler run worker notifications`` runs
  it; it waits for ``go`` after building everything, so its start-up is not timed;
- :func:`smtp_ceiling`: plain ``smtplib`` clients in threads, the baseline.
"""

from __future__ import annotations

import os
import smtplib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path
from types import TracebackType
from typing import Any

from bench import BenchError
from bench.workload import Envelope, traceparent
from extracted.notifications import messages
from extracted.notifications.mailer import OutgoingEmail, build_message
from extracted.notifications.recording import CUSTOMER_REGISTERED, HANDLING_DECIDED
from strangler_cli.consumers import EVENT_SCHEMAS
from strangler_messaging import CloudEvent, uuid7
from strangler_messaging.schemas import SchemaRegistry

SOURCE = "/shop/monolith"
ORIGIN = "monolith"
SENDER = "shop@shop.invalid"
_HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


# -- the events --------------------------------------------------------------------------------

def registrations(count: int) -> list[Envelope]:
    """``count`` registrations, each followed by its decision for the service (2 x count)."""
    schemas = SchemaRegistry.from_directory(EVENT_SCHEMAS)
    made: list[Envelope] = []
    for i in range(count):
        now = datetime.now(UTC)
        stamp = now.isoformat(timespec="milliseconds")
        customer_id = str(uuid7())
        trace = traceparent()
        cause = CloudEvent(
            id=str(uuid7()), source=SOURCE, type=CUSTOMER_REGISTERED, subject=customer_id,
            time=now, aggregatetype="customer", aggregatesequence=1, origin=ORIGIN,
            data={"id": customer_id, "email": f"customer{i:06d}@example.com",
                  "name": f"Customer {i:06d}", "created_at": stamp},
            traceparent=trace)
        decision = CloudEvent(
            id=str(uuid7()), source=SOURCE, type=HANDLING_DECIDED, subject=cause.id, time=now,
            aggregatetype="notification_handling", aggregatesequence=1, origin=ORIGIN,
            data={"event_id": cause.id, "event_type": CUSTOMER_REGISTERED,
                  "handled_by": "notifications"},
            traceparent=trace)
        for event in (cause, decision):
            schemas.validate(event)
            made.append(Envelope(event.id, event.type, trace, event.to_json()))
    return made


def sample_emails(count: int, tag: str) -> list[tuple[str, bytes]]:
    """``count`` welcome emails as the worker builds them: (recipient, RFC 5322 bytes)."""
    subject, body = messages.welcome({"name": "Customer 999999"})
    template = build_message(OutgoingEmail(SENDER, "customer999999@example.com", subject, body,
                                           f"<{tag}-999999@bench.invalid>")).as_bytes()
    made = []
    for i in range(count):  # building each one takes ~1.3 ms: fill in a template instead
        made.append((f"customer{i:06d}@example.com",
                     template.replace(b"999999", f"{i:06d}".encode())))
    return made


# -- the baseline ------------------------------------------------------------------------------

def smtp_ceiling(port: int, emails: Sequence[tuple[str, bytes]], *, threads: int = 4,
                 reuse: bool = False) -> float:
    """Send ``emails`` with plain ``smtplib`` from ``threads`` threads; returns the seconds.

    A new connection per email (EHLO, MAIL, RCPT, DATA, QUIT: what ``SmtpMailer`` does), or
    with ``reuse`` one connection per thread for all its emails.
    """
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads + 1)

    def client(share: Sequence[tuple[str, bytes]]) -> None:
        try:
            barrier.wait()
            if reuse:
                with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
                    for recipient, content in share:
                        smtp.sendmail(SENDER, [recipient], content)
                return
            for recipient, content in share:
                with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
                    smtp.sendmail(SENDER, [recipient], content)
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=client, args=(emails[k::threads],), daemon=True)
               for k in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join(120)
    seconds = time.perf_counter() - started
    if errors or any(w.is_alive() for w in workers):
        raise BenchError(f"SMTP ceiling: a client failed: {errors[0] if errors else 'hung'!r}")
    return seconds


# -- the SMTP sink, a process of its own -------------------------------------------------------

def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _strangler() -> list[str]:
    script = Path(sys.executable).with_name("strangler")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from strangler_cli.main import cli; cli()"]


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU of process ``pid`` so far (0 without ``/proc``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _HZ


class SinkProcess:
    """``strangler run smtp-sink --port P --maildir D``, started on entry, stopped on exit."""

    def __init__(self, directory: Path, name: str) -> None:
        self.maildir = directory / f"mail-{name}"
        self.port = free_port()
        self._log = directory / f"sink-{name}.log"
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> SinkProcess:
        with self._log.open("wb") as log:
            self._process = subprocess.Popen(
                [*_strangler(), "run", "smtp-sink", "--port", str(self.port),
                 "--maildir", str(self.maildir)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                with smtplib.SMTP("127.0.0.1", self.port, timeout=2) as smtp:
                    smtp.noop()
                return self
            except OSError as exc:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self._stop()
                    raise BenchError(f"the SMTP sink did not start ({exc!r}): "
                                     f"{self._tail()}") from exc
                time.sleep(0.1)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        code = self._stop()
        if error is None and code not in (0, -15):
            raise BenchError(f"the SMTP sink exited with {code}: {self._tail()}")

    def _stop(self) -> int | None:
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        return process.returncode

    def _tail(self) -> str:
        try:
            return self._log.read_text(errors="replace")[-500:].strip()
        except OSError:
            return "(no log)"

    def cpu_seconds(self) -> float:
        """CPU the sink process used so far."""
        return 0.0 if self._process is None else process_cpu_seconds(self._process.pid)

    def count(self) -> int:
        """Messages accepted so far (files in the maildir)."""
        try:
            return sum(1 for entry in os.scandir(self.maildir) if entry.name.endswith(".eml"))
        except FileNotFoundError:
            return 0

    def message_ids(self) -> list[str]:
        """The Message-ID of every accepted message (one per file, ``""`` when missing)."""
        parser = BytesHeaderParser(policy=policy.default)
        found = []
        for path in sorted(self.maildir.glob("*.eml")):
            value = parser.parsebytes(path.read_bytes())["Message-ID"]
            found.append("" if value is None else str(value).strip())
        return found


# -- the worker, a process of its own ----------------------------------------------------------

OUTCOMES = ("sent", "failed", "retried", "duplicate", "leased")


def worker_main(database_url: str, amqp_url: str, queue_name: str, smtp_port: int,
                threads: int, pid: Any, ready: Any, go: Any, stop: Any, results: Any) -> None:
    """Child process: the notifications worker, started by ``go``, until ``stop``.

    Puts its process id in ``pid`` (a shared int) and its job outcomes on ``results``.
    """
    from extracted.notifications.delivery import DeliverySettings
    from extracted.notifications.jobs import DeliveryJobs, make_broker
    from extracted.notifications.worker import DeliveryWorker
    from strangler_messaging.db import make_engine

    engine = make_engine(database_url)
    with engine.connect():
        pass
    jobs = DeliveryJobs(make_broker(amqp_url), engine,
                        DeliverySettings(smtp_port=smtp_port, queue_name=queue_name))
    worker = DeliveryWorker(jobs, threads=threads)
    pid.value = os.getpid()
    ready.set()
    while not go.wait(0.1):
        if stop.is_set():
            results.put({})
            return

    def stop_when_asked() -> None:
        stop.wait()
        worker.stop()

    threading.Thread(target=stop_when_asked, daemon=True).start()
    worker.run()
    samples = {outcome: float(jobs.metrics.count(outcome)) for outcome in OUTCOMES}
    engine.dispose()
    results.put(samples)
