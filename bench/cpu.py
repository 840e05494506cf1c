"""Where the CPU went while a figure was measured: us, the broker, PostgreSQL, everyone else.

On a shared 2-core machine that is the first thing to know about any figure: a component
whose thread used 0.4 cores while the host was 100 % busy was starved, not slow.
Read from ``/proc`` (Linux); elsewhere the meter reports only this process.
"""

from __future__ import annotations

import os
import pwd
import time
from pathlib import Path

SERVICES = {"rabbitmq": "rabbit", "postgres": "pg"}
"""System users whose processes are reported on their own (user -> label)."""

_HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class CpuMeter:
    """Started when made; :meth:`note` describes the CPU used since, in cores."""

    def __init__(self) -> None:
        self._wall = time.perf_counter()
        self._process = time.process_time()
        self._host = _host_busy_ticks()
        self._services = _service_ticks()

    def cores(self) -> dict[str, float]:
        """Cores used since the start: ``python``, each service, ``rest``, ``host`` (busy)."""
        wall = max(time.perf_counter() - self._wall, 1e-9)
        used = {"python": (time.process_time() - self._process) / wall}
        now = _service_ticks()
        for label in SERVICES.values():
            used[label] = max(0, now.get(label, 0) - self._services.get(label, 0)) / _HZ / wall
        host = _host_busy_ticks()
        if host and self._host:
            used["host"] = (host - self._host) / _HZ / wall
            used["rest"] = max(0.0, used["host"] - sum(
                v for k, v in used.items() if k != "host"))
        return used

    def host_busy(self) -> float | None:
        """The host's busy share (0..1) since the start, ``None`` without ``/proc``."""
        host = self.cores().get("host")
        count = os.cpu_count() or 1
        return None if host is None else host / count

    def note(self) -> str:
        """E.g. ``cores: python 0.54, rabbit 0.62, pg 0.21, rest 0.40 (host 1.77 of 2)``."""
        used = self.cores()
        parts = [f"{k} {used[k]:.2f}" for k in ("python", *SERVICES.values(), "rest")
                 if k in used]
        host = (f" (host {used['host']:.2f} of {os.cpu_count()})" if "host" in used else "")
        return "cores: " + ", ".join(parts) + host


def _host_busy_ticks() -> int:
    """Busy jiffies of all CPUs together (0 without ``/proc/stat``)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except (OSError, ValueError):
        return 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle


def _service_ticks() -> dict[str, int]:
    """CPU jiffies of the processes of each service user, including their reaped children.

    PostgreSQL backends that exit add their time to the postmaster's ``cutime``/``cstime``,
    so connections closed during the interval still count.
    """
    uids: dict[int, str] = {}
    for user, label in SERVICES.items():
        try:
            uids[pwd.getpwnam(user).pw_uid] = label
        except KeyError:
            continue
    ticks = dict.fromkeys(uids.values(), 0)
    if not uids:
        return ticks
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            owner = uids.get(entry.stat().st_uid)
            if owner is None:
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks[owner] += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
    return ticks
