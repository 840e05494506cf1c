"""Real processes for end-to-end tests: start a component, wait until it answers, stop it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

STRANGLER = str(Path(sys.executable).with_name("strangler"))
PYTHON = sys.executable


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True, slots=True)
class RunningProcess:
    """A component started by :func:`running`."""

    process: subprocess.Popen[bytes]
    base_url: str
    log: Path


@contextmanager
def running(args: list[str], *, port: int, env: Mapping[str, str], log: Path,
            ready_path: str = "/readyz", timeout: float = 20.0,
            command: list[str] | None = None) -> Iterator[RunningProcess]:
    """Run ``strangler <args>`` (or ``command``), wait for ``ready_path`` to answer 200 on
    ``port``, and stop it with SIGTERM at the end of the block."""
    with log.open("ab") as out:
        process = subprocess.Popen(command or [STRANGLER, *args], env={**os.environ, **env},
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(process, base_url + ready_path, timeout, log)
        yield RunningProcess(process, base_url, log)
    finally:
        stop(process)


def kill(process: subprocess.Popen[bytes]) -> int:
    """SIGKILL: no clean-up, no flush, the way a crash or an OOM kill ends a process."""
    os.killpg(process.pid, signal.SIGKILL)
    return process.wait()


def stop(process: subprocess.Popen[bytes], timeout: float = 15.0) -> int:
    """SIGTERM the process group, SIGKILL it if it has not exited in ``timeout``."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    return process.wait()


def _wait_ready(process: subprocess.Popen[bytes], url: str, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready after {timeout}s:\n{log.read_text()}")
