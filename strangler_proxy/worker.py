"""One data-plane process: the public listener, its route table watcher, pools and breakers.

Run by ``strangler run proxy`` (one or several, sharing the port with SO_REUSEPORT) or on its
own with ``python -m strangler_proxy.worker``. Nothing happens at import.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from urllib.parse import urlsplit

from sqlalchemy import Engine

from strangler_messaging.db import make_engine
from strangler_proxy.backends import Backend, backends_from_env
from strangler_proxy.breaker import OPEN, BreakerSettings, CircuitBreaker
from strangler_proxy.dispatch import Dispatcher, TableHolder
from strangler_proxy.matching import RouteTable
from strangler_proxy.messages import Request, Response
from strangler_proxy.metrics import ProxyMetrics
from strangler_proxy.mismatches import record_mismatch
from strangler_proxy.server import ClientConnection, Limits
from strangler_proxy.store import RouteStore
from strangler_proxy.upstream import Pool

log = logging.getLogger(__name__)
DEFAULT_DATABASE_URL = "sqlite:///var/proxy.db"


@dataclass(frozen=True, slots=True)
class DataPlaneSettings:
    """Everything a worker needs; :meth:`from_env` reads the documented variables."""

    database_url: str = DEFAULT_DATABASE_URL
    backends: Mapping[str, Backend] = field(default_factory=dict)
    tester_token: str | None = None
    limits: Limits = field(default_factory=Limits)
    breaker: BreakerSettings = field(default_factory=BreakerSettings)
    connect_timeout: float = 1.0
    response_timeout: float = 30.0
    reload_every: float = 0.25
    hold_timeout: float = 10.0
    instance: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DataPlaneSettings:
        """``PROXY_DATABASE_URL``, ``STRANGLER_<NAME>_URL``, ``STRANGLER_ADMIN_TOKEN``."""
        env = os.environ if environ is None else environ
        return cls(database_url=env.get("PROXY_DATABASE_URL") or DEFAULT_DATABASE_URL,
                   backends=backends_from_env(env),
                   tester_token=env.get("STRANGLER_ADMIN_TOKEN") or None)


class DataPlane:
    """The wired data plane of one process."""

    def __init__(self, settings: DataPlaneSettings, engine: Engine | None = None) -> None:
        self.settings = settings
        self.engine = engine or make_engine(settings.database_url)
        self.store = RouteStore(self.engine, settings.backends)
        self.metrics = ProxyMetrics()
        self.pools = {name: _pool(backend, settings) for name, backend in
                      settings.backends.items()}
        self.breakers = {name: CircuitBreaker(name, settings.breaker,
                                              on_change=self._breaker_changed)
                         for name in settings.backends}
        self.holder = TableHolder(RouteTable([], settings.backends))
        self.dispatcher = Dispatcher(self.holder, self.pools, self.breakers, self.metrics,
                                     tester_token=settings.tester_token,
                                     on_mismatch=self._mismatch,
                                     hold_timeout=settings.hold_timeout)
        self._in_flight = 0
        self._background: set[asyncio.Future[None]] = set()

    async def handle(self, request: Request) -> Response:
        """The handler given to every client connection."""
        self._in_flight += 1
        try:
            return await self.dispatcher.handle(request)
        finally:
            self._in_flight -= 1

    async def watch_routes(self) -> None:
        """Reload the table whenever its version changes (validated, swapped whole)."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                version = await loop.run_in_executor(None, self.store.version)
                if version != self.holder.table.version:
                    table = await loop.run_in_executor(None, self.store.load)
                    self.holder.table = table
                    self.metrics.table_version.set(table.version)
                    log.info("route table version %d loaded (%d routes)", table.version,
                             len(table.routes))
            except Exception:
                log.exception("reading the route table failed; keeping version %d",
                              self.holder.table.version)
            await asyncio.sleep(self.settings.reload_every)

    async def serve(self, sock: socket.socket, stop: asyncio.Event) -> None:
        """Accept connections on ``sock`` until ``stop`` is set, then drain."""
        loop = asyncio.get_running_loop()
        watcher = loop.create_task(self.watch_routes())
        server = await loop.create_server(
            lambda: ClientConnection(self.handle, self.settings.limits), sock=sock,
            backlog=1024)
        await stop.wait()
        server.close()
        for _ in range(100):  # up to 10 s for requests in flight
            if self._in_flight == 0:
                break
            await asyncio.sleep(0.1)
        await self.dispatcher.drain(2.0)
        watcher.cancel()
        if self._background:
            await asyncio.wait(self._background, timeout=2.0)
        for pool in self.pools.values():
            pool.close()

    def _breaker_changed(self, backend: str, before: str, after: str, why: str) -> None:
        self.metrics.breaker_open.labels(backend).set(0 if after == "closed" else 1)
        log.warning("breaker of %s: %s -> %s (%s)", backend, before, after, why)
        if after == OPEN or before != "closed":
            self._in_background(partial(
                self.store.note, actor=f"proxy {self.settings.instance}", source="breaker",
                action=f"breaker_{after}", reason=f"{backend}: {why}"))

    def _mismatch(self, route_id: str, method: str, target: bytes, legacy_status: int,
                  service_status: int | None, found: list[str]) -> None:
        if len(self._background) < 100:  # under a storm, keep serving rather than sampling
            self._in_background(partial(record_mismatch, self.engine, route_id, method, target,
                                        legacy_status, service_status, found))

    def _in_background(self, work: partial[None]) -> None:
        future = asyncio.get_running_loop().run_in_executor(None, _logged(work))
        self._background.add(future)
        future.add_done_callback(self._background.discard)


def _logged(work: partial[None]) -> partial[None]:
    def run() -> None:
        try:
            work()
        except Exception:
            log.exception("background write failed")
    return partial(run)


def _pool(backend: Backend, settings: DataPlaneSettings) -> Pool:
    parts = urlsplit(backend.url)
    return Pool(backend.name, parts.hostname or "127.0.0.1", parts.port or 80,
                connect_timeout=settings.connect_timeout,
                response_timeout=settings.response_timeout)


def bind(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    """A listening socket (SO_REUSEPORT lets several workers share the port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def run_worker(host: str, port: int, *, reuse_port: bool,
               settings: DataPlaneSettings | None = None) -> None:
    """Serve until SIGTERM or SIGINT (uvloop when available)."""
    try:
        import uvloop
        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a dependency; stay correct without it
        pass
    plane = DataPlane(settings or DataPlaneSettings.from_env())
    sock = bind(host, port, reuse_port=reuse_port)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await plane.serve(sock, stop)

    asyncio.run(main())
    plane.engine.dispose()


def main() -> None:
    """``python -m strangler_proxy.worker --host 127.0.0.1 --port 8000 [--reuse-port]``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--reuse-port", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s proxy[%(process)d] %(message)s")
    run_worker(args.host, args.port, reuse_port=args.reuse_port)


if __name__ == "__main__":
    main()
