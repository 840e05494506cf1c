"""``strangler run <component>``: one component in the foreground on its default port."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from gunicorn.app.base import BaseApplication

DEFAULT_PORTS = {"monolith": 8010}


class WsgiServer(BaseApplication):  # type: ignore[misc]
    """gunicorn, embedded: each worker builds its own app (and engine) from ``factory``."""

    def __init__(self, factory: Callable[[], Any], options: dict[str, Any]) -> None:
        self._factory = factory
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self._factory()


def serve(factory: Callable[[], Any], *, host: str, port: int, workers: int, threads: int) -> None:
    """Serve a WSGI app factory with gunicorn's threaded workers until stopped."""
    WsgiServer(factory, {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "keepalive": 30,
        "graceful_timeout": 10,
        "accesslog": None,
        "loglevel": "warning",
    }).run()


@click.group()
def run() -> None:
    """Run one component in the foreground."""


@run.command("monolith")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=DEFAULT_PORTS["monolith"], show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int,
              help="gunicorn worker processes (metrics are per process).")
@click.option("--threads", default=8, show_default=True, type=int, help="Threads per worker.")
def run_monolith(host: str, port: int, workers: int, threads: int) -> None:
    """The Shop monolith (MONOLITH_DATABASE_URL; run `strangler db upgrade monolith` first)."""
    from legacy_monolith.app import create_app

    click.echo(f"monolith listening on http://{host}:{port}")
    serve(create_app, host=host, port=port, workers=workers, threads=threads)
