"""``strangler backfill`` and ``strangler reconcile``: bring a copy up to date, and prove it."""

from __future__ import annotations

import json

import click
from sqlalchemy import Engine, MetaData

from strangler_cli.contexts import CONTEXTS, Context
from strangler_cli.databases import DATABASES, require_migrated
from strangler_messaging import OutboxWriter, define_outbox_table
from strangler_messaging.backfill import Backfill, define_backfill_table
from strangler_messaging.db import make_engine
from strangler_messaging.reconcile import compare, repair


def _context(name: str) -> Context:
    if name not in CONTEXTS:
        raise click.BadParameter(f"unknown context {name!r}; known: {', '.join(CONTEXTS)}")
    return CONTEXTS[name]()


def _require_source_owns(ctx: Context, engine: Engine, what: str) -> None:
    """Refuse to emit the source's state once another side owns the context's writes: it
    would overwrite (or delete) what the owner wrote since."""
    if ctx.source_ownership is None:
        return
    with engine.connect() as conn:
        ownership = ctx.source_ownership().read(conn)
    if ownership.owner != ctx.source_database:
        raise click.ClickException(
            f"{ctx.name} writes are owned by {ownership.owner} (epoch {ownership.epoch}): "
            f"{what} from {ctx.source_database} would overwrite the owner's data. Move the "
            f"writes back first (strangler ownership move {ctx.name} --to "
            f"{ctx.source_database}) or repair from the owner's side.")


@click.command()
@click.argument("context")
@click.option("--chunk-size", default=500, show_default=True, type=int)
@click.option("--pause", default=0.0, show_default=True, type=float,
              help="Seconds between chunks, to stay gentle with live traffic.")
@click.option("--restart", is_flag=True, help="Start over instead of resuming.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def backfill(context: str, chunk_size: int, pause: float, restart: bool, as_json: bool) -> None:
    """Emit CONTEXT's current state as snapshot events through its outbox.

    Chunked and resumable (an interrupted run continues after its last chunk); safe to run
    alongside live traffic, since consumers keep only the newest version of each aggregate.
    """
    ctx = _context(context)
    if ctx.snapshots is None:
        raise click.ClickException(f"context {context} has no state to backfill")
    engine = make_engine(DATABASES[ctx.source_database].url())
    require_migrated(DATABASES[ctx.source_database], engine)
    _require_source_owns(ctx, engine, "a backfill")
    metadata = MetaData()
    writer = OutboxWriter(define_outbox_table(metadata), source=ctx.event_source,
                          origin=ctx.origin)
    report = Backfill(engine, ctx.snapshots(), writer, define_backfill_table(metadata),
                      chunk_size=chunk_size, pause=pause).run(restart=restart)
    engine.dispose()
    if as_json:
        click.echo(json.dumps({"context": report.context, "emitted": report.emitted,
                               "chunks": report.chunks, "finished": report.finished,
                               "resumed_after": report.resumed_after}))
        return
    resumed = f" (resumed after {report.resumed_after})" if report.resumed_after else ""
    click.echo(f"{report.context}: emitted {report.emitted} snapshot events in "
               f"{report.chunks} chunk(s){resumed}")


@click.command()
@click.argument("context")
@click.option("--repair", "do_repair", is_flag=True,
              help="Re-emit drifted aggregates from the source (marked resync).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def reconcile(context: str, do_repair: bool, as_json: bool) -> None:
    """Compare CONTEXT on source and target aggregate by aggregate; exit 1 on drift."""
    ctx = _context(context)
    if (ctx.target_database is None or ctx.target_states is None
            or ctx.source_states is None or ctx.snapshots is None):
        raise click.ClickException(
            f"context {context} has no copy to reconcile: no deployed service holds one")
    source = make_engine(DATABASES[ctx.source_database].url())
    target = make_engine(DATABASES[ctx.target_database].url())
    require_migrated(DATABASES[ctx.source_database], source)
    require_migrated(DATABASES[ctx.target_database], target)
    drift = compare(ctx.source_states(source), ctx.target_states(target))
    repaired = 0
    if do_repair and drift.total:
        _require_source_owns(ctx, source, "a repair")
        writer = OutboxWriter(define_outbox_table(MetaData()), source=ctx.event_source,
                              origin=ctx.origin)
        repaired = repair(source, ctx.snapshots(), writer, drift)
    source.dispose()
    target.dispose()
    if as_json:
        click.echo(json.dumps({"context": context, "compared": drift.compared,
                               "missing": drift.missing, "extra": [d.key for d in drift.extra],
                               "different": [d.key for d in drift.different],
                               "repair_events": repaired}))
    else:
        click.echo(f"{context}: compared {drift.compared}, missing in target "
                   f"{len(drift.missing)}, only in target {len(drift.extra)}, "
                   f"different {len(drift.different)}")
        for key in drift.missing[:20]:
            click.echo(f"  missing   {key}")
        for extra in drift.extra[:20]:
            click.echo(f"  extra     {extra.key} (v{extra.version})")
        for diff in drift.different[:20]:
            click.echo(f"  different {diff.key} (source v{diff.source_version}, "
                       f"target v{diff.target_version})")
        if do_repair:
            click.echo(f"repair: wrote {repaired} event(s) to the outbox")
    if drift.total and not do_repair:
        raise SystemExit(1)
