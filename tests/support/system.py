"""A running system of real processes, as the end-to-end tests drive it."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import STRANGLER

TOKEN = "e2e-admin-token"
"""The proxy admin token the end-to-end systems run with."""


@dataclass
class World:
    """The running system: URLs, environment for CLI calls, the proxy database."""

    proxy: str
    monolith: str
    service: str
    env: dict[str, str]
    proxy_db: str
    logs: Path

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``strangler <args>`` the way an operator would."""
        done = subprocess.run([STRANGLER, *args], env=self.env, capture_output=True,
                              text=True, timeout=120)
        if check and done.returncode != 0:
            raise AssertionError(f"strangler {' '.join(args)} exited {done.returncode}:\n"
                                 f"{done.stdout}\n{done.stderr}")
        return done
