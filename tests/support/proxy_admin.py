"""The proxy's control plane under test: migrated proxy databases, a fake data plane made of
plain data, and WSGI apps served on real sockets."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text
from werkzeug.serving import make_server

from strangler_cli.databases import DATABASES, upgrade
from strangler_messaging.db import make_engine
from strangler_proxy import tables
from strangler_proxy.backends import Backend
from strangler_proxy.routes import Mode, Route

BACKEND_NAMES = ("monolith", "catalog", "notifications")
TOKEN = "test-admin-token-7f3a"


@dataclass
class FakeRuntime:
    """What a data plane would report, as plain data a test sets."""

    metrics: bytes = b"# HELP strangler_requests_total Requests.\nstrangler_requests_total 0\n"
    breaker_states: dict[str, str] = field(default_factory=dict)
    stats: dict[str, dict[str, float]] = field(default_factory=dict)

    def metrics_text(self) -> bytes:
        return self.metrics

    def breakers(self) -> dict[str, str]:
        return dict(self.breaker_states)

    def route_stats(self) -> dict[str, dict[str, float]]:
        return {route: dict(values) for route, values in self.stats.items()}


def products_read(**changes: Any) -> Route:
    """The route the catalog extraction starts with."""
    base: dict[str, Any] = {"id": "products-read", "methods": frozenset({"GET", "HEAD"}),
                            "path": "/api/products/{id}"}
    return Route(**{**base, **changes})


def canary(percent_bps: int = 1000, **changes: Any) -> Route:
    """``products-read`` as a canary to the catalog service."""
    return products_read(mode=Mode.CANARY, service="catalog", percent_bps=percent_bps,
                         **changes)


# -- databases -------------------------------------------------------------------------------

def migrated_sqlite(directory: Path) -> str:
    """A fresh SQLite proxy database, migrated to head."""
    url = f"sqlite:///{directory / f'proxy-{uuid.uuid4().hex[:8]}.db'}"
    upgrade(DATABASES["proxy"], url)
    return url


@contextmanager
def migrated_postgres(admin: Engine) -> Iterator[str]:
    """A PostgreSQL database of its own, migrated to the proxy's head; dropped after."""
    name = f"strangler_proxy_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(DATABASES["proxy"], url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def emptied(url: str) -> str:
    """Remove every row of the proxy tables (a PostgreSQL database shared by a module)."""
    engine = create_engine(url)
    with engine.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in tables.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY"))
    engine.dispose()
    return url


def proxy_engine(url: str) -> Engine:
    """The engine the control plane would use."""
    return make_engine(url)


# -- serving ---------------------------------------------------------------------------------

@contextmanager
def serving(app: Any, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve a WSGI app on a real socket (an ephemeral port) in a thread; yields its base URL."""
    server = make_server(host, 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
    assert not thread.is_alive(), "the test server did not stop"


def local_backends(**urls: str) -> dict[str, Backend]:
    """Every known backend; those not given point at a port where nothing listens."""
    from tests.support.processes import free_port

    return {name: Backend(name, urls.get(name) or f"http://127.0.0.1:{free_port()}")
            for name in BACKEND_NAMES}
