"""``strangler demo``: the whole rehearsal, short phases, as a visitor would run it.

It must pass (exit 0, the summary says so, nothing failed, lost or drifted), leave its logs
under the work directory, and stop every process it started. Without a broker it must say how
to start one instead of failing obscurely.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.support.processes import STRANGLER, free_port


def _demo(tmp_path: Path, amqp_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([STRANGLER, "demo", "--workdir", str(tmp_path / "var"), *args],
                          env={**os.environ, "AMQP_URL": amqp_url}, capture_output=True,
                          text=True, timeout=600, cwd=tmp_path, check=False)


def test_a_short_rehearsal_passes_and_leaves_nothing_running(tmp_path: Path,
                                                             amqp_url: str) -> None:
    done = _demo(tmp_path, amqp_url, "--phase-seconds", "0.5", "--rate", "10")
    print(done.stdout[-3000:])
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "rehearsal passed" in done.stdout
    assert "| requests failed                    | 0 |" in done.stdout
    assert "| causing events not notified        | 0 |" in done.stdout
    logs = {p.name for p in (tmp_path / "var" / "log").glob("*.log")}
    assert {"monolith.log", "catalog.log", "notifications.log", "proxy.log",
            "relay-monolith.log", "consumer-catalog.log", "worker-notifications.log"} <= logs
    assert _processes_mentioning(str(tmp_path)) == []


def test_without_a_broker_it_says_how_to_start_one(tmp_path: Path) -> None:
    done = _demo(tmp_path, f"amqp://guest:guest@127.0.0.1:{free_port()}/")
    assert done.returncode == 2
    assert "RabbitMQ does not answer" in done.stderr and "docker compose up" in done.stderr


def _processes_mentioning(text: str) -> list[int]:
    """Processes whose environment names ``text`` (the rehearsal's databases live there)."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if text.encode() in environ.read_bytes():
                found.append(int(environ.parent.name))
        except OSError:
            continue
    return found
