"""Processes for the proxy suite: two monolith instances, two proxies, optionally nginx."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import BenchError

STRANGLER = str(Path(sys.executable).with_name("strangler"))
TOKEN = "bench-admin-token"


@dataclass(frozen=True, slots=True)
class Ports:
    """Where each case listens."""

    monolith: int
    service: int
    proxy_legacy: int
    proxy_canary: int


def free_port() -> int:
    """A TCP port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(stack: ExitStack, work: Path) -> Ports:
    """Seed a monolith database, start two monolith instances and two proxies."""
    env = {**os.environ, "MONOLITH_DATABASE_URL": f"sqlite:///{work / 'monolith.db'}"}
    _cli(env, "db", "upgrade", "monolith")
    _cli(env, "seed", "--products", "20", "--customers", "2")
    monolith, service = free_port(), free_port()
    for port in (monolith, service):
        _process(stack, work, env, f"http://127.0.0.1:{port}/readyz",
                 [STRANGLER, "run", "monolith", "--port", str(port), "--workers", "2",
                  "--threads", "4"])
    legacy = _proxy(stack, work, env, "legacy", monolith, service, canary=False)
    canary = _proxy(stack, work, env, "canary", monolith, service, canary=True)
    return Ports(monolith, service, legacy, canary)


def _proxy(stack: ExitStack, work: Path, env: dict[str, str], name: str, monolith: int,
           service: int, *, canary: bool) -> int:
    from strangler_messaging.db import make_engine
    from strangler_proxy.routes import Mode, Route
    from strangler_proxy.store import Change, RouteStore

    url = f"sqlite:///{work / f'proxy-{name}.db'}"
    proxy_env = {**env, "PROXY_DATABASE_URL": url, "STRANGLER_ADMIN_TOKEN": TOKEN,
                 "STRANGLER_MONOLITH_URL": f"http://127.0.0.1:{monolith}",
                 "STRANGLER_CATALOG_URL": f"http://127.0.0.1:{service}"}
    _cli(proxy_env, "db", "upgrade", "proxy")
    if canary:
        engine = make_engine(url)
        route = Route(id="products-list", methods=frozenset({"GET"}), path="/api/products",
                      mode=Mode.CANARY, service="catalog", percent_bps=5000,
                      sticky_key="header:X-Customer-ID")
        RouteStore(engine, ("monolith", "catalog", "notifications")).change(
            [Change(route.id, route)], actor="bench", source="bench", action="set",
            reason="benchmark canary")
        engine.dispose()
    port, admin = free_port(), free_port()
    _process(stack, work, proxy_env, f"http://127.0.0.1:{admin}/healthz",
             [STRANGLER, "run", "proxy", "--port", str(port), "--admin-port", str(admin)])
    _wait(f"http://127.0.0.1:{port}/api/products", None)
    return port


def start_nginx(stack: ExitStack, work: Path, upstream: int) -> int:
    """nginx as a reverse proxy with an upstream keep-alive pool."""
    port = free_port()
    (work / "nginx").mkdir()
    config = work / "nginx" / "nginx.conf"
    config.write_text(f"""
worker_processes 1;
daemon off;
pid {work}/nginx/nginx.pid;
error_log {work}/nginx/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {work}/nginx;
  proxy_temp_path {work}/nginx;
  upstream shop {{ server 127.0.0.1:{upstream}; keepalive 32; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://shop;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }}
  }}
}}
""")
    _process(stack, work, dict(os.environ), f"http://127.0.0.1:{port}/healthz",
             ["nginx", "-c", str(config), "-p", str(work / "nginx")])
    return port


def _cli(env: dict[str, str], *args: str) -> None:
    result = subprocess.run([STRANGLER, *args], env=env, capture_output=True, text=True,
                            timeout=120, check=False)
    if result.returncode != 0:
        raise BenchError(f"strangler {' '.join(args)} failed:\n{result.stdout}{result.stderr}")


def _process(stack: ExitStack, work: Path, env: dict[str, str], ready: str,
             command: list[str]) -> None:
    log = (work / f"{Path(command[0]).name}-{len(list(work.glob('*.log')))}.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    stack.callback(_stop, process, log)
    _wait(ready, process)


def _wait(url: str, process: subprocess.Popen[bytes] | None) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise BenchError(f"{process.args} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise BenchError(f"{url} did not answer")


def _stop(process: subprocess.Popen[bytes], log: object) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    log.close()  # type: ignore[attr-defined]
