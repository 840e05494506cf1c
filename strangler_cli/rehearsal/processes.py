"""Supervised local processes: started in order, each once it answers; all stopped together.

A process that exits while the rehearsal runs is a failure (:class:`ProcessDied`), not
something to hide: the rehearsal stops everything and says which one, with its log's tail.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

STRANGLER = str(Path(sys.executable).with_name("strangler"))


class ProcessDied(RuntimeError):
    """A supervised process exited (or never became ready)."""


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Managed:
    """One supervised process."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path


class Supervisor:
    """Starts ``strangler`` components and stops all of them, newest first."""

    def __init__(self, logs: Path, env: Mapping[str, str]) -> None:
        self._logs = logs
        self._env = {**os.environ, **env}
        self._running: list[Managed] = []

    def start(self, name: str, args: Sequence[str], ready_url: str,
              timeout: float = 30.0) -> Managed:
        """Run ``strangler <args>`` and wait until ``ready_url`` answers 200 (or, for
        ``tcp:<port>``, until the port accepts connections)."""
        log = self._logs / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen([STRANGLER, *args], env=self._env, stdout=out,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        managed = Managed(name, process, log)
        self._running.append(managed)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check(managed)
            if _ready(ready_url):
                return managed
            time.sleep(0.1)
        raise ProcessDied(f"{name} did not answer {ready_url} in {timeout:.0f}s"
                          f"{_tail(log)}")

    def check(self) -> None:
        """Raise :class:`ProcessDied` if any supervised process has exited."""
        for managed in self._running:
            self._check(managed)

    def stop_all(self) -> None:
        """SIGTERM everything (newest first), SIGKILL what has not exited in 15 s."""
        for managed in reversed(self._running):
            if managed.process.poll() is None:
                os.killpg(managed.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for managed in reversed(self._running):
            try:
                managed.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(managed.process.pid, signal.SIGKILL)
                managed.process.wait()
        self._running.clear()

    @staticmethod
    def _check(managed: Managed) -> None:
        code = managed.process.poll()
        if code is not None:
            raise ProcessDied(f"{managed.name} exited with {code}{_tail(managed.log)}")


def _ready(url: str) -> bool:
    if url.startswith("tcp:"):
        try:
            socket.create_connection(("127.0.0.1", int(url[4:])), timeout=1.0).close()
        except OSError:
            return False
        return True
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.TransportError:
        return False


def _tail(log: Path, lines: int = 15) -> str:
    try:
        text = log.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return f"; the end of {log}:\n  " + "\n  ".join(text)
