"""``strangler run worker <service>``: a service's background job worker in the foreground."""

from __future__ import annotations

import click

from strangler_cli.databases import DATABASES, require_migrated
from strangler_cli.settings import amqp_url

WORKERS = ("notifications",)


@click.command("worker")
@click.argument("service", type=click.Choice(WORKERS), metavar="SERVICE")
@click.option("--threads", default=4, show_default=True, type=int,
              help="Jobs run at the same time.")
@click.option("--metrics-port", type=int, default=None,
              help="Serve Prometheus metrics on this port (127.0.0.1).")
@click.option("--sweep-every", default=5.0, show_default=True, type=float,
              help="Seconds between sweeps for deliveries whose job was lost.")
def worker(service: str, threads: int, metrics_port: int | None, sweep_every: float) -> None:
    """The job worker of SERVICE, until SIGTERM (jobs in progress finish first).

    notifications: sends each recorded notification by email (NOTIFICATIONS_DATABASE_URL,
    migrated; AMQP_URL; NOTIFICATIONS_SMTP_HOST/PORT, NOTIFICATIONS_MAIL_FROM, ...).
    """
    from extracted.notifications.delivery import DeliverySettings
    from extracted.notifications.worker import run_worker
    from strangler_messaging.db import make_engine

    try:
        settings = DeliverySettings.from_env()
    except ValueError as exc:
        raise click.ClickException(f"delivery settings: {exc}") from exc
    database = DATABASES[service]
    database_url = database.url()
    engine = make_engine(database_url)
    try:
        require_migrated(database, engine)
    finally:
        engine.dispose()
    click.echo(f"{service} worker starting (queue {settings.queue_name}, "
               f"SMTP {settings.smtp_host}:{settings.smtp_port})")
    run_worker(amqp_url(), database_url, settings, threads=threads, metrics_port=metrics_port,
               sweep_every=sweep_every)
