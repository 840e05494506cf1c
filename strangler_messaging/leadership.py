"""One active relay per database: whoever holds the lock publishes, the others wait.

Several relays reading the same outbox with ``SKIP LOCKED`` would reorder events of one
aggregate, so a relay publishes only while it holds an exclusive lock on its outbox:

- PostgreSQL: a session-level advisory lock on a dedicated connection. If the relay dies or
  its connection drops, the server releases the lock and a standby takes over within its next
  attempt (``retry_every``).
- SQLite: an exclusive ``flock`` on a file beside the database. The kernel releases it when the
  process dies. SQLite lives on one host, so a host-local lock is the right scope.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, Engine, text


class Leadership(Protocol):
    """An exclusive right to publish one outbox."""

    def try_acquire(self) -> bool:
        """Take the lock if it is free; never blocks."""

    def still_held(self) -> bool:
        """Whether the lock is still ours (a dropped connection loses it)."""

    def release(self) -> None:
        """Give the lock up."""


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``name``."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PostgresAdvisoryLock:
    """``pg_try_advisory_lock`` held on a connection of its own."""

    def __init__(self, engine: Engine, name: str) -> None:
        self._engine = engine
        self._key = lock_key(name)
        self._conn: Connection | None = None

    def try_acquire(self) -> bool:
        """Take the lock if no other session holds it."""
        if self._conn is None:
            self._conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        got = bool(self._conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key}))
        if not got:
            self._close()
        return got

    def still_held(self) -> bool:
        """A session-level lock lives as long as its session: check the session answers."""
        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1"))
        except Exception:
            self._close()
            return False
        return True

    def release(self) -> None:
        """Unlock and close the connection."""
        if self._conn is not None:
            with suppress(Exception):  # if the connection is gone, so is the lock
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
            self._close()

    def _close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.invalidate()
                self._conn.close()
            finally:
                self._conn = None


class FileLock:
    """An exclusive, non-blocking ``flock`` on ``path``."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        """Take the lock if no other process holds it."""
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def still_held(self) -> bool:
        """A held ``flock`` cannot be lost while the process lives."""
        return self._fd is not None

    def release(self) -> None:
        """Unlock."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def leadership_for(engine: Engine, name: str) -> Leadership:
    """The right lock for the engine's database."""
    if engine.dialect.name == "postgresql":
        return PostgresAdvisoryLock(engine, name)
    database = engine.url.database
    if not database or database == ":memory:":
        raise ValueError("a relay needs a file-backed SQLite database")
    return FileLock(Path(f"{database}.{name}.lock"))


def wait_for_leadership(lock: Leadership, *, retry_every: float,
                        should_stop: Callable[[], bool]) -> bool:
    """Block until the lock is ours (True) or ``should_stop`` says so (False)."""
    while not should_stop():
        if lock.try_acquire():
            return True
        time.sleep(retry_every)
    return False
