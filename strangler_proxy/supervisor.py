"""``strangler run proxy``: data-plane workers on the public port, the admin API on its own.

The supervisor starts N worker processes that share the public port (SO_REUSEPORT), restarts
any that dies, and serves the admin API itself (loopback by default). Workers write their
metrics to a shared directory that the admin listener aggregates. The admin API refuses to
start without ``STRANGLER_ADMIN_TOKEN`` unless it is put in development mode, which only
listens on loopback.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from werkzeug.serving import make_server

from strangler_messaging.db import make_engine
from strangler_proxy.admin import create_admin_app
from strangler_proxy.backends import backends_from_env
from strangler_proxy.control import RouteControl
from strangler_proxy.gate import VerificationStore
from strangler_proxy.runtime import MetricsRuntime
from strangler_proxy.store import RouteStore
from strangler_proxy.worker import DEFAULT_DATABASE_URL

log = logging.getLogger(__name__)
LOOPBACK = ("127.0.0.1", "::1", "localhost")


class ConfigurationError(Exception):
    """The proxy must not start like this."""


@dataclass(frozen=True, slots=True)
class ProxyOptions:
    """How to run the proxy."""

    host: str = "127.0.0.1"
    port: int = 8000
    admin_host: str = "127.0.0.1"
    admin_port: int = 8001
    workers: int = 1
    dev: bool = False


def run_proxy(options: ProxyOptions, *,
              outbox_lag: Callable[[], dict[str, float]] | None = None) -> None:
    """Run until SIGTERM/SIGINT. Raises :class:`ConfigurationError` before starting anything
    if the admin API would be unprotected."""
    token = os.environ.get("STRANGLER_ADMIN_TOKEN") or None
    if token is None and not options.dev:
        raise ConfigurationError("STRANGLER_ADMIN_TOKEN is not set: refusing to start the admin "
                                 "API unauthenticated (use --dev for a loopback-only dev mode)")
    if token is None and options.admin_host not in LOOPBACK:
        raise ConfigurationError("development mode serves the admin API on loopback only")
    metrics_dir = tempfile.mkdtemp(prefix="strangler-proxy-metrics-")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    workers = _Workers(options, metrics_dir)
    backends = backends_from_env(os.environ)
    engine = make_engine(os.environ.get("PROXY_DATABASE_URL") or DEFAULT_DATABASE_URL)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=metrics_dir)  # type: ignore[no-untyped-call]
    app = create_admin_app(RouteControl(RouteStore(engine, backends), VerificationStore(engine)),
                           MetricsRuntime(registry, list(backends)), token=token,
                           backends=backends, outbox_lag=outbox_lag)
    admin = make_server(options.admin_host, options.admin_port, app, threaded=True)
    admin_thread = threading.Thread(target=admin.serve_forever, daemon=True)
    try:
        workers.start()
        admin_thread.start()
        log.info("proxy on %s:%d (%d workers), admin on %s:%d%s", options.host, options.port,
                 options.workers, options.admin_host, options.admin_port,
                 " (development mode, no auth)" if token is None else "")
        while not stop.wait(0.5):
            workers.replace_dead()
    finally:
        workers.stop()
        admin.shutdown()
        engine.dispose()
        shutil.rmtree(metrics_dir, ignore_errors=True)


class _Workers:
    def __init__(self, options: ProxyOptions, metrics_dir: str) -> None:
        self._options = options
        self._env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": metrics_dir}
        self._processes: list[subprocess.Popen[bytes]] = []
        self._restarts: list[float] = []

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "strangler_proxy.worker", "--host",
                                 self._options.host, "--port", str(self._options.port),
                                 "--reuse-port"], env=self._env)

    def start(self) -> None:
        self._processes = [self._spawn() for _ in range(self._options.workers)]

    def replace_dead(self) -> None:
        for n, process in enumerate(self._processes):
            if process.poll() is None:
                continue
            mark_process_dead(process.pid, self._env["PROMETHEUS_MULTIPROC_DIR"])  # type: ignore[no-untyped-call]
            now = time.monotonic()
            self._restarts = [t for t in self._restarts if now - t < 60] + [now]
            if len(self._restarts) > 10:
                raise RuntimeError("workers keep dying; see the log above")
            log.error("worker %d exited with %s; restarting", process.pid, process.returncode)
            self._processes[n] = self._spawn()

    def stop(self) -> None:
        for process in self._processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self._processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
