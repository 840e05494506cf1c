"""The notifications worker: dramatiq's worker for the send queue, plus the sweeper, in one process.

``python -m extracted.notifications.worker`` (or ``strangler run worker notifications``) reads
``AMQP_URL``, ``NOTIFICATIONS_DATABASE_URL`` and the ``NOTIFICATIONS_*`` delivery settings, and
runs until SIGTERM or SIGINT: jobs in progress finish, the ones not started go back to RabbitMQ.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from typing import Any

import dramatiq
from prometheus_client import start_http_server

from extracted.notifications.delivery import DeliverySettings
from extracted.notifications.jobs import DeliveryJobs, make_broker
from strangler_messaging.db import make_engine

log = logging.getLogger(__name__)

DEFAULT_DATABASE_URL = "sqlite:///var/notifications.db"
DEFAULT_AMQP_URL = "amqp://guest:guest@localhost:5672/%2F"


class DeliveryWorker:
    """Runs ``jobs`` with ``threads`` worker threads and sweeps stale deliveries every
    ``sweep_every`` seconds; :meth:`run` blocks until :meth:`stop` (thread-safe)."""

    def __init__(self, jobs: DeliveryJobs, *, threads: int = 4, sweep_every: float = 5.0,
                 stale_after: float | None = None) -> None:
        self.jobs = jobs
        self.threads = threads
        self.sweep_every = sweep_every
        self.stale_after = jobs.settings.stale_after_seconds if stale_after is None \
            else stale_after
        self._stopping = threading.Event()

    def run(self) -> None:
        """Consume the send queue and sweep until stopped, then shut down gracefully."""
        worker = dramatiq.Worker(self.jobs.broker, queues={self.jobs.queue_name},
                                 worker_threads=self.threads)
        worker.start()
        log.info("notifications worker consuming %s with %d threads", self.jobs.queue_name,
                 self.threads)
        try:
            while not self._stopping.is_set():
                self._sweep()
                self._stopping.wait(self.sweep_every)
        finally:
            # In-flight sends finish (bounded by the lease); unacked messages return to the queue.
            worker.stop(timeout=int(self.jobs.settings.lease_seconds * 1000))
            self.jobs.broker.close()
            log.info("notifications worker stopped")

    def stop(self) -> None:
        """Ask :meth:`run` to finish."""
        self._stopping.set()

    def _sweep(self) -> None:
        try:
            self.jobs.requeue_stale(self.stale_after)
        except Exception:  # the database or broker is away: the next sweep tries again
            log.warning("sweeping stale deliveries failed", exc_info=True)


def run_worker(amqp_url: str, database_url: str, settings: DeliverySettings, *,
               threads: int = 4, metrics_port: int | None = None,
               sweep_every: float = 5.0) -> None:
    """Run the worker in this process until SIGTERM/SIGINT (call from the main thread)."""
    engine = make_engine(database_url)
    jobs = DeliveryJobs(make_broker(amqp_url), engine, settings)
    worker = DeliveryWorker(jobs, threads=threads, sweep_every=sweep_every)
    _stop_on_signals(worker.stop)
    server = None
    if metrics_port:
        server, _ = start_http_server(metrics_port, addr="127.0.0.1",
                                      registry=jobs.metrics.registry)
    try:
        worker.run()
    finally:
        if server is not None:
            server.shutdown()
        engine.dispose()


def _stop_on_signals(stop: Any) -> None:
    def handler(signum: int, _frame: Any) -> None:
        signal.signal(signum, signal.SIG_DFL)  # a second signal ends the process at once
        stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def main(argv: list[str] | None = None) -> None:
    """The command line: ``[--threads N] [--metrics-port P] [--sweep-every S]``."""
    parser = argparse.ArgumentParser(prog="python -m extracted.notifications.worker",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--metrics-port", type=int, default=None)
    parser.add_argument("--sweep-every", type=float, default=5.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    logging.getLogger("pika").setLevel(logging.WARNING)
    run_worker(os.environ.get("AMQP_URL") or DEFAULT_AMQP_URL,
               os.environ.get("NOTIFICATIONS_DATABASE_URL") or DEFAULT_DATABASE_URL,
               DeliverySettings.from_env(), threads=args.threads,
               metrics_port=args.metrics_port, sweep_every=args.sweep_every)


if __name__ == "__main__":
    main()
