"""Isolated, disposable services for one benchmark run, and running components in threads.

Everything a run creates carries the run's id: PostgreSQL databases ``strangler_bench_<id>_*``,
a RabbitMQ vhost ``strangler-bench-<id>`` (or, where ``rabbitmqctl`` is not usable, exchange and
queue names of the run's own in ``/``), and a temporary directory for SQLite files. Leaving the
:class:`Sandbox` removes them all, also on error or Ctrl-C.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import Protocol

import pika
from pika.adapters.blocking_connection import BlockingChannel
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench import BenchError

POSTGRES_URL = os.environ.get("STRANGLER_BENCH_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
AMQP_BASE_URL = os.environ.get("STRANGLER_BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


class Sandbox:
    """Databases, a vhost and a directory that exist only for the ``with`` block."""

    def __init__(self) -> None:
        self.run_id = uuid.uuid4().hex[:8]
        self._admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT",
                                    connect_args={"connect_timeout": 5})
        self._databases: list[str] = []
        self._vhost: str | None = None
        self.amqp_url = AMQP_BASE_URL + "%2F"
        self.directory = Path(tempfile.mkdtemp(prefix=f"strangler-bench-{self.run_id}-"))

    def __enter__(self) -> Sandbox:
        try:
            with self._admin.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:
            self.close()
            raise BenchError(f"PostgreSQL does not answer at {POSTGRES_URL}: {exc!r}") from exc
        vhost = f"strangler-bench-{self.run_id}"
        if _rabbitmqctl("add_vhost", vhost):
            self._vhost = vhost
            if _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"):
                self.amqp_url = AMQP_BASE_URL + vhost
        try:
            pika.BlockingConnection(pika.URLParameters(self.amqp_url)).close()
        except Exception as exc:
            self.close()
            raise BenchError(f"RabbitMQ does not answer at {self.amqp_url}: {exc!r}") from exc
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    @property
    def prefix(self) -> str:
        """A name prefix for exchanges and queues (unique even in a shared vhost)."""
        return f"bench-{self.run_id}"

    def postgres(self, name: str) -> str:
        """Create the database ``strangler_bench_<id>_<name>`` and return its URL."""
        database = f"strangler_bench_{self.run_id}_{name}"
        with self._admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{database}"'))
        self._databases.append(database)
        return make_url(POSTGRES_URL).set(database=database).render_as_string(
            hide_password=False)

    def sqlite(self, name: str) -> str:
        """The URL of a new SQLite file ``<name>.db`` in the run's directory."""
        path = self.directory / f"{name}.db"
        for leftover in self.directory.glob(f"{name}.db*"):
            leftover.unlink()
        return f"sqlite:///{path}"

    def close(self) -> None:
        """Drop every database, delete the vhost and the directory (idempotent)."""
        for database in reversed(self._databases):
            with suppress(Exception), self._admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        self._databases.clear()
        self._admin.dispose()
        if self._vhost is not None:
            _rabbitmqctl("delete_vhost", self._vhost)
            self._vhost = None
        shutil.rmtree(self.directory, ignore_errors=True)


def _rabbitmqctl(*args: str) -> bool:
    if shutil.which("rabbitmqctl") is None:
        return False
    with suppress(subprocess.SubprocessError, OSError):
        result = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, timeout=60,
                                check=False)
        return result.returncode == 0
    return False


class Runnable(Protocol):
    """A component with a blocking ``run`` and a thread-safe ``stop`` (relay, consumer)."""

    def run(self) -> None: ...

    def stop(self) -> None: ...


@contextmanager
def running(component: Runnable, *, join_timeout: float = 30.0) -> Iterator[list[BaseException]]:
    """Run ``component`` in a daemon thread for the block; stop and join it afterwards.

    Yields the list its exception lands in, so a waiting loop can give up early; raises
    :class:`BenchError` if it failed or did not stop.
    """
    errors: list[BaseException] = []

    def target() -> None:
        try:
            component.run()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, name=type(component).__name__, daemon=True)
    thread.start()
    try:
        yield errors
    finally:
        component.stop()
        thread.join(join_timeout)
    if thread.is_alive():
        raise BenchError(f"{type(component).__name__} did not stop within {join_timeout}s")
    if errors:
        raise BenchError(f"{type(component).__name__} failed: {errors[0]!r}") from errors[0]


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str, every: float = 0.05,
             errors: list[BaseException] | None = None) -> float:
    """Poll ``condition`` every ``every`` s; returns the seconds it took, raises on timeout."""
    started = time.perf_counter()
    deadline = started + timeout
    while not condition():
        if errors:
            raise BenchError(f"{what}: component failed: {errors[0]!r}") from errors[0]
        if time.perf_counter() > deadline:
            raise BenchError(f"{what}: not done within {timeout:.0f}s")
        time.sleep(every)
    return time.perf_counter() - started


@contextmanager
def amqp_channel(amqp_url: str) -> Iterator[BlockingChannel]:
    """A channel on a short-lived connection of its own (declarations, purges, counts)."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        yield connection.channel()
    finally:
        close_quietly(connection)


def close_quietly(connection: pika.BlockingConnection) -> None:
    """Close ``connection`` if it is open; a failure here must not hide the real error."""
    with suppress(Exception):
        if connection.is_open:
            connection.close()


def queue_depth(amqp_url: str, queue: str) -> int:
    """Messages ready in ``queue`` (a passive declare on a connection of its own)."""
    with amqp_channel(amqp_url) as channel:
        return int(channel.queue_declare(queue, passive=True).method.message_count)


def rate_or_zero(count: float, seconds: float) -> float:
    """``count / seconds``, 0 for a zero duration."""
    return count / seconds if seconds > 0 else 0.0
