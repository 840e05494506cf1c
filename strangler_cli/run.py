"""``strangler run <component>``: one component in the foreground on its default port."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from gunicorn.app.base import BaseApplication
from prometheus_client import start_http_server
from sqlalchemy import MetaData

from strangler_cli import smtp_sink, workers
from strangler_cli.consumers import CONSUMERS
from strangler_cli.databases import DATABASES, require_migrated
from strangler_cli.settings import amqp_url, topology
from strangler_cli.signals import stop_on_signals
from strangler_messaging import define_outbox_table, outbox_status
from strangler_messaging.consumer import ConsumerRunner
from strangler_messaging.consumer_metrics import ConsumerMetrics
from strangler_messaging.relay import Relay, RelaySettings
from strangler_messaging.relay_metrics import RelayMetrics

DEFAULT_PORTS = {"monolith": 8010, "catalog": 8020, "notifications": 8030}


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


@run.command("relay")
@click.argument("database", type=click.Choice(sorted(n for n, d in DATABASES.items()
                                                   if d.has_outbox)))
@click.option("--batch-size", default=RelaySettings().batch_size, show_default=True, type=int)
@click.option("--metrics-port", type=int, default=None,
              help="Serve Prometheus metrics on this port.")
def run_relay(database: str, batch_size: int, metrics_port: int | None) -> None:
    """The outbox relay of DATABASE: publishes its events to RabbitMQ (AMQP_URL).

    Only one relay per database publishes at a time; start a second one as a hot standby.
    """
    from strangler_messaging.db import make_engine

    engine = make_engine(DATABASES[database].url())
    require_migrated(DATABASES[database], engine)
    metrics = RelayMetrics()
    relay = Relay(engine, define_outbox_table(MetaData()), amqp_url(), topology=topology(),
                  settings=RelaySettings(batch_size=batch_size), metrics=metrics)
    if metrics_port:
        start_http_server(metrics_port, registry=metrics.registry)
    stop_on_signals(relay.stop)
    click.echo(f"relay for {database} starting (exchange {topology().exchange})")
    relay.run()
    engine.dispose()


@run.command("consumer")
@click.argument("name")
@click.option("--metrics-port", type=int, default=None,
              help="Serve Prometheus metrics on this port.")
def run_consumer(name: str, metrics_port: int | None) -> None:
    """The event consumer NAME, until SIGTERM (finishes its batch first)."""
    if name not in CONSUMERS:
        known = ", ".join(sorted(CONSUMERS)) or "none yet"
        raise click.BadParameter(f"no consumer named {name!r} (known: {known})")
    metrics = ConsumerMetrics()
    runner = ConsumerRunner(CONSUMERS[name](), amqp_url(), topology=topology(), metrics=metrics)
    if metrics_port:
        start_http_server(metrics_port, registry=metrics.registry)
    stop_on_signals(runner.stop)
    click.echo(f"consumer {name} starting")
    runner.run()


@run.command("proxy")
@click.option("--host", default="127.0.0.1", show_default=True, help="Public listener address.")
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--admin-host", default="127.0.0.1", show_default=True)
@click.option("--admin-port", default=8001, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int,
              help="Data-plane processes sharing the public port: one per core left free "
                   "by the backends (docs/performance.md).")
@click.option("--dev", is_flag=True,
              help="Allow running without STRANGLER_ADMIN_TOKEN (admin on loopback, no auth).")
def run_proxy_command(host: str, port: int, admin_host: str, admin_port: int, workers: int,
                      dev: bool) -> None:
    """The strangler proxy: the stable URL (PROXY_DATABASE_URL, STRANGLER_<NAME>_URL)."""
    from strangler_messaging.db import make_engine
    from strangler_proxy.supervisor import ConfigurationError, ProxyOptions, run_proxy

    engine = make_engine(DATABASES["proxy"].url())
    require_migrated(DATABASES["proxy"], engine)
    engine.dispose()
    try:
        run_proxy(ProxyOptions(host, port, admin_host, admin_port, workers, dev),
                  outbox_lag=outbox_lag)
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from exc


def outbox_lag() -> dict[str, float]:
    """Seconds the oldest unpublished event has waited, per database with an outbox."""
    from strangler_messaging.db import make_engine

    lag: dict[str, float] = {}
    for name, database in DATABASES.items():
        if not database.has_outbox:
            continue
        engine = make_engine(database.url())
        try:
            with engine.connect() as conn:
                lag[name] = outbox_status(conn, define_outbox_table(MetaData())
                                          ).oldest_pending_age_seconds()
        except Exception:  # an unmigrated or unreachable database has no lag to report
            continue
        finally:
            engine.dispose()
    return lag


@run.command("catalog")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=DEFAULT_PORTS["catalog"], show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int,
              help="gunicorn worker processes (metrics are per process).")
@click.option("--threads", default=8, show_default=True, type=int, help="Threads per worker.")
def run_catalog(host: str, port: int, workers: int, threads: int) -> None:
    """The catalog service (CATALOG_DATABASE_URL; run `strangler db upgrade catalog` first).

    Serves the product API; `strangler run consumer catalog` keeps its copy until it owns the
    writes, `strangler run relay catalog` publishes them after.
    """
    from extracted.catalog.app import create_app
    from strangler_messaging.db import make_engine

    engine = make_engine(DATABASES["catalog"].url())
    require_migrated(DATABASES["catalog"], engine)
    engine.dispose()
    click.echo(f"catalog listening on http://{host}:{port}")
    serve(create_app, host=host, port=port, workers=workers, threads=threads)


@run.command("notifications")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=DEFAULT_PORTS["notifications"], show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int,
              help="gunicorn worker processes (metrics are per process).")
@click.option("--threads", default=4, show_default=True, type=int, help="Threads per worker.")
def run_notifications(host: str, port: int, workers: int, threads: int) -> None:
    """The notifications service's HTTP side (NOTIFICATIONS_DATABASE_URL): its read route.

    `strangler run consumer notifications` records; `strangler run worker notifications`
    sends.
    """
    from extracted.notifications.app import create_app
    from strangler_messaging.db import make_engine

    engine = make_engine(DATABASES["notifications"].url())
    require_migrated(DATABASES["notifications"], engine)
    engine.dispose()
    click.echo(f"notifications listening on http://{host}:{port}")
    serve(create_app, host=host, port=port, workers=workers, threads=threads)


run.add_command(workers.worker)
run.add_command(smtp_sink.smtp_sink)
