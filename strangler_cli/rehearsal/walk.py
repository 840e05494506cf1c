"""The operator: the extraction phases, each done with the command an operator would type.

Every step runs ``strangler ...`` as a separate process against the running system, so the
rehearsal exercises the same commands the docs and the playbook name. A command that fails
stops the rehearsal with its output.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from strangler_cli.rehearsal.processes import STRANGLER

READ_ROUTES = (("products-read", "/api/products/{id}"), ("products-list", "/api/products"))


class CommandFailed(RuntimeError):
    """An operator command exited non-zero."""


@dataclass(frozen=True, slots=True)
class Phase:
    """One phase: what the operator does, then how long traffic runs in the new state."""

    name: str
    act: Callable[[], object]
    hold: float


class Operator:
    """Runs the operator's commands with the rehearsal's environment."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = dict(env)
        self.log: list[str] = []

    def run(self, *args: str, ok: Sequence[int] = (0,)) -> subprocess.CompletedProcess[str]:
        """``strangler <args>``; raises :class:`CommandFailed` on an unexpected exit code."""
        self.log.append("strangler " + " ".join(args))
        done = subprocess.run([STRANGLER, *args], env=self._env, capture_output=True,
                              text=True, timeout=300, check=False)
        if done.returncode not in ok:
            raise CommandFailed(f"strangler {' '.join(args)} exited {done.returncode}:\n"
                                f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
        return done

    def until_clean(self, context: str, timeout: float = 60.0) -> None:
        """Reconcile until it finds no drift."""
        deadline = time.monotonic() + timeout
        while self.run("reconcile", context, ok=(0, 1)).returncode != 0:
            if time.monotonic() > deadline:
                raise CommandFailed(f"strangler reconcile {context} still finds drift after "
                                    f"{timeout:.0f}s")
            time.sleep(1.0)

    def backfill(self, context: str) -> None:
        """Copy the context's existing state, then reconcile (under live writes a few products
        are always in flight, so zero drift is checked at the end, once traffic stops)."""
        self.run("backfill", context)
        self.run("reconcile", context, ok=(0, 1))

    def reads(self, *options: str) -> list[subprocess.CompletedProcess[str]]:
        """Set both product read routes."""
        return [self.run("routes", "set", route_id, "--methods", "GET,HEAD", "--path", path,
                         *options, "--reason", "rehearsal") for route_id, path in READ_ROUTES]


def phases(op: Operator, hold: float) -> list[Phase]:
    """The catalog extraction, its rollback drill, and the notifications switch-over."""
    canary = ("--service", "catalog", "--sticky-key", "header:X-Customer-ID")
    return [
        Phase("legacy", lambda: None, hold),
        Phase("backfill", lambda: op.backfill("catalog"), hold / 2),
        Phase("shadow", lambda: op.reads("--mode", "shadow", "--service", "catalog"), hold),
        Phase("contracts", lambda: op.run("contracts", "verify"), 0),
        Phase("canary 10%", lambda: op.reads("--mode", "canary", "--percent", "10", *canary),
              hold),
        Phase("canary 50%", lambda: op.reads("--mode", "canary", "--percent", "50", *canary),
              hold),
        Phase("extracted reads", lambda: op.reads("--mode", "extracted", "--service",
                                                  "catalog"), hold),
        Phase("write cutover", lambda: op.run("ownership", "move", "catalog", "--to", "catalog",
                                              "--reason", "rehearsal: writes move"), hold),
        Phase("rollback drill", lambda: (
            op.run("ownership", "move", "catalog", "--to", "monolith", "--reason",
                   "rehearsal: rollback drill"), op.reads("--mode", "legacy")), hold),
        Phase("forward again", lambda: (
            op.reads("--mode", "extracted", "--service", "catalog"),
            op.run("ownership", "move", "catalog", "--to", "catalog", "--reason",
                   "rehearsal: forward again")), hold),
        Phase("notifications", lambda: (
            op.run("routes", "set", "notifications-read", "--methods", "GET,HEAD", "--path",
                   "/api/notifications", "--mode", "extracted", "--service", "notifications",
                   "--reason", "rehearsal: the service answers notification reads"),
            op.run("ownership", "move", "notifications", "--to", "notifications", "--reason",
                   "rehearsal: the service sends from now on")), hold),
    ]
