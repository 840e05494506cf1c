"""A running system of real processes, as the end-to-end tests drive it."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx

from strangler_cli.databases import DATABASES, upgrade
from tests.support.processes import STRANGLER, free_port, running
from tests.support.waiting import wait_until

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


def start_system(stack: ExitStack, logs: Path, *, service: str,
                 databases: Mapping[str, str], amqp_url: str, exchange: str,
                 background: Sequence[Sequence[str]],
                 env: Mapping[str, str] | None = None) -> World:
    """Migrate ``databases`` (name -> URL; the proxy's is added), then start the monolith,
    ``service``, the proxy (data plane + admin) and the ``background`` components (``relay
    monolith``, ``consumer catalog`` ...), each once it answers; stopped with ``stack``."""
    urls = {**databases, "proxy": f"sqlite:///{logs / 'proxy.db'}"}
    for name, url in urls.items():
        upgrade(DATABASES[name], url)
    ports = {name: free_port() for name in ("monolith", service, "proxy", "admin")}
    environment = {
        **{DATABASES[name].env_var: url for name, url in urls.items()},
        "AMQP_URL": amqp_url, "STRANGLER_EVENTS_EXCHANGE": exchange,
        "STRANGLER_MONOLITH_URL": f"http://127.0.0.1:{ports['monolith']}",
        f"STRANGLER_{service.upper()}_URL": f"http://127.0.0.1:{ports[service]}",
        "STRANGLER_ADMIN_URL": f"http://127.0.0.1:{ports['admin']}",
        "STRANGLER_ADMIN_TOKEN": TOKEN, **(env or {})}

    def start(name: str, args: list[str], port: int, ready: str = "/readyz") -> None:
        stack.enter_context(running(args, port=port, env=environment, ready_path=ready,
                                    log=logs / f"{name}.log"))

    for name in ("monolith", service):
        start(name, ["run", name, "--port", str(ports[name])], ports[name])
    start("proxy", ["run", "proxy", "--port", str(ports["proxy"]), "--admin-port",
                    str(ports["admin"])], ports["admin"], ready="/healthz")
    for args in background:
        port = free_port()
        start("-".join(args), ["run", *args, "--metrics-port", str(port)], port,
              ready="/metrics")
    base = f"http://127.0.0.1:{ports['proxy']}"
    wait_until(lambda: _answers(base), message="the proxy's data plane answers")
    return World(base, environment["STRANGLER_MONOLITH_URL"],
                 environment[f"STRANGLER_{service.upper()}_URL"], environment, urls["proxy"],
                 logs)


def _answers(base: str) -> bool:
    try:
        return httpx.get(base + "/api/products", timeout=1).status_code == 200
    except httpx.TransportError:
        return False
