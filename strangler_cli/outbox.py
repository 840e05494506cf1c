"""``strangler outbox``: how far each database's relay is behind."""

from __future__ import annotations

import json

import click
from sqlalchemy import MetaData

from strangler_cli.databases import DATABASES, require_migrated
from strangler_messaging import define_outbox_table, outbox_status


@click.group()
def outbox() -> None:
    """Inspect transactional outboxes."""


@outbox.command("status")
@click.option("--db", "names", multiple=True,
              type=click.Choice(sorted(n for n, d in DATABASES.items() if d.has_outbox)),
              help="Database to inspect (repeatable; default: all).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def outbox_status_command(names: tuple[str, ...], as_json: bool) -> None:
    """Backlog, oldest unpublished event and published count per outbox."""
    from strangler_messaging.db import make_engine

    table = define_outbox_table(MetaData())
    rows = []
    skipped = []
    for name in names or tuple(n for n, d in DATABASES.items() if d.has_outbox):
        engine = make_engine(DATABASES[name].url())
        try:
            require_migrated(DATABASES[name], engine)
        except click.ClickException:
            if names:  # asked for by name: say why it cannot be read
                raise
            skipped.append(name)  # not deployed here: nothing to report
            engine.dispose()
            continue
        with engine.connect() as conn:
            status = outbox_status(conn, table)
        engine.dispose()
        rows.append({
            "database": name,
            "pending": status.pending,
            "published": status.published,
            "oldest_pending_age_seconds": round(status.oldest_pending_age_seconds(), 3),
            "written_per_second": round(status.write_rate, 2),
            "published_per_second": round(status.publish_rate, 2),
            "last_published_at": (status.last_published_at.isoformat()
                                  if status.last_published_at else None),
        })
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for name in skipped:
        click.echo(f"{name}: not migrated, skipped")
    click.echo(f"{'database':<14}{'pending':>9}{'published':>11}{'oldest age (s)':>16}"
               f"{'in/s (1m)':>11}{'out/s (1m)':>12}")
    for row in rows:
        click.echo(f"{row['database']:<14}{row['pending']:>9}{row['published']:>11}"
                   f"{row['oldest_pending_age_seconds']:>16}{row['written_per_second']:>11}"
                   f"{row['published_per_second']:>12}")
