"""``strangler demo``: the migration rehearsal (``make demo``); see :mod:`.rehearsal`."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command()
@click.option("--phase-seconds", default=6.0, show_default=True, type=float,
              help="How long traffic runs in each phase.")
@click.option("--rate", default=25.0, show_default=True, type=float,
              help="Requests per second per client (4 clients; 0 = as fast as they can).")
@click.option("--workdir", default="var", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Databases go to WORKDIR/demo, logs to WORKDIR/log.")
def demo(phase_seconds: float, rate: float, workdir: Path) -> None:
    """Rehearse the whole migration on this machine: every component as a local process, live
    traffic at the stable URL, the catalog extraction (backfill, shadow, contracts, canary 10 %
    and 50 %, extracted reads, write cutover, rollback drill, forward again) and the
    notifications switch-over. Exits 0 only if no request failed, no event was lost and
    nothing drifted; 2 when RabbitMQ (AMQP_URL) does not answer.
    """
    from strangler_cli.rehearsal.runner import rehearse  # heavy imports only when it runs

    sys.exit(rehearse(phase_seconds, rate, workdir))
