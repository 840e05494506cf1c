"""``strangler``: run components and operate the migration from one command."""

from __future__ import annotations

import logging

import click

from strangler_cli import db, demo, dlq, outbox, ownership, routes, run, seed, services, sync
from strangler_cli.contracts import contracts
from strangler_messaging.tracing import TraceLogFilter


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log at DEBUG level.")
def cli(verbose: bool) -> None:
    """Operate a strangler-fig migration of the Shop monolith.

    Database URLs come from MONOLITH_DATABASE_URL (and one variable per service); the
    default is a SQLite file under ./var/.
    """
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s [%(trace_id)s] %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(TraceLogFilter())
    for noisy in ("httpx", "alembic", "pika"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)


cli.add_command(run.run)
cli.add_command(db.db)
cli.add_command(seed.seed)
cli.add_command(outbox.outbox)
cli.add_command(demo.demo)
cli.add_command(dlq.dlq)
cli.add_command(sync.backfill)
cli.add_command(sync.reconcile)
cli.add_command(ownership.ownership)
cli.add_command(routes.routes)
cli.add_command(services.services)
cli.add_command(services.status)
cli.add_command(contracts)
