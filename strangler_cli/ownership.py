"""``strangler ownership``: who owns a context's writes, and the audited move between sides.

``show`` reads both databases' ownership rows and the proxy's write routes. ``move`` runs the
cutover sequence of :mod:`strangler_cli.cutover`; its route changes go through the proxy's
admin API (validated, gated, audited like any flip), its ownership changes straight to the two
databases. Exit codes: 0 done, 1 failed and undone, 3 admin API unreachable, 4 gate refused.
"""

from __future__ import annotations

import json
from typing import Any

import click

from strangler_cli.contexts import CONTEXTS, Context
from strangler_cli.cutover import CutoverFailed, Side, WriteCutover
from strangler_cli.databases import DATABASES, require_migrated
from strangler_cli.routes import AdminClient, actor_option, json_option, reason_option, route_path
from strangler_messaging.db import make_engine


class AdminDesk:
    """Route documents through the proxy's admin API."""

    def __init__(self, client: AdminClient) -> None:
        self._client = client

    def get(self, route_id: str) -> dict[str, Any] | None:
        """The route, or None."""
        found = self._client.call("GET", route_path(route_id), missing_ok=True)
        return None if found is None else dict(found.json()["route"])

    def put(self, doc: dict[str, Any], reason: str) -> None:
        """Set the route (gate refusals raise GateRefusedError, exit code 4)."""
        self._client.json("PUT", route_path(doc["id"]), json={**doc, "reason": reason})

    def note(self, action: str, reason: str) -> None:
        """Audit in the proxy's log."""
        self._client.json("POST", "/admin/notes", json={"action": action, "reason": reason})


def _cutover(name: str, actor: str | None, settle: float = 1.0,
             drain_timeout: float = 60.0) -> WriteCutover:
    if name not in CONTEXTS:
        raise click.BadParameter(f"unknown context {name!r}; known: {', '.join(CONTEXTS)}")
    ctx: Context = CONTEXTS[name]()
    if (ctx.target_database is None or ctx.source_ownership is None
            or ctx.target_ownership is None):
        raise click.ClickException(f"context {name} has no service that can take its writes")
    sides = []
    for db_name, ownership, states in (
            (ctx.source_database, ctx.source_ownership, ctx.source_states),
            (ctx.target_database, ctx.target_ownership, ctx.target_states)):
        engine = make_engine(DATABASES[db_name].url())
        require_migrated(DATABASES[db_name], engine)
        sides.append(Side(db_name, engine, ownership(), states))
    return WriteCutover(ctx, sides[0], sides[1], AdminDesk(AdminClient.from_env(actor)),
                        settle=settle, drain_timeout=drain_timeout)


@click.group()
def ownership() -> None:
    """Who owns a context's writes: show it, move it (the write cutover and its rollback)."""


@ownership.command("show")
@click.argument("context")
@json_option
def show(context: str, as_json: bool) -> None:
    """Each side's ownership record and the proxy's write routes."""
    status = _cutover(context, None).status()
    if as_json:
        click.echo(json.dumps({
            "context": status.context, "owner": status.owner,
            "records": {n: {"owner": r.owner, "epoch": r.epoch,
                            "changed_at": r.changed_at.isoformat() if r.changed_at else None}
                        for n, r in status.records.items()},
            "routes": status.routes}))
        return
    click.echo(f"{status.context}: writes owned by {status.owner or 'NOBODY (move unfinished)'}")
    for name, record in status.records.items():
        click.echo(f"  {name:<10} records owner {record.owner} at epoch {record.epoch}")
    for route_id, doc in status.routes.items():
        where = "absent (legacy)" if doc is None else (
            f"{doc['mode']} {doc.get('service') or ''}".strip()
            + (" PAUSED" if doc.get("paused") else ""))
        click.echo(f"  route {route_id:<16} {where}")


@ownership.command("move")
@click.argument("context")
@click.option("--to", "to", required=True, help="The side that takes the writes.")
@reason_option
@actor_option
@click.option("--settle", default=1.0, show_default=True, type=float,
              help="Seconds for every proxy worker to load the paused routes.")
@click.option("--drain-timeout", default=60.0, show_default=True, type=float,
              help="Give up (and undo) if the sync has not caught up by then.")
@json_option
def move(context: str, to: str, reason: str, actor: str, settle: float, drain_timeout: float,
         as_json: bool) -> None:
    """Move CONTEXT's writes to the side TO (the service, or back to the monolith).

    Example: strangler ownership move catalog --to catalog --reason "reads clean for a week"
    """
    cutover = _cutover(context, actor, settle, drain_timeout)
    try:
        report = cutover.move(to, reason)
    except CutoverFailed as exc:
        raise click.ClickException(str(exc)) from exc
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    if as_json:
        click.echo(json.dumps({"context": report.context, "before": report.before,
                               "after": report.after, "epoch": report.epoch,
                               "paused_seconds": round(report.paused_seconds, 3),
                               "drain_seconds": round(report.drain_seconds, 3),
                               "steps": report.steps}))
        return
    for step in report.steps:
        click.echo(f"  {step}")
    click.echo(f"{report.context}: writes owned by {report.after} (epoch {report.epoch}); "
               f"writes held {report.paused_seconds:.2f}s")
