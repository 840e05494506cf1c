"""The control plane's state: every change validated, versioned and audited in one transaction.

Changes go through :meth:`RouteStore.change`, which builds the whole new table, validates it
(a table that would not load is never written), writes the routes, bumps the version counter
that proxy instances poll, and appends the audit entries -- atomically.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from strangler_messaging.sqltypes import utc_now
from strangler_proxy import tables
from strangler_proxy.matching import RouteTable
from strangler_proxy.routes import Route, RouteError


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """Who changed what, when, why, from what to what."""

    id: int
    at: datetime
    actor: str
    source: str
    action: str
    route_id: str | None
    reason: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    table_version: int | None
    forced: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"id": self.id, "at": self.at.isoformat(timespec="milliseconds"),
                "actor": self.actor, "source": self.source, "action": self.action,
                "route_id": self.route_id, "reason": self.reason, "before": self.before,
                "after": self.after, "table_version": self.table_version,
                "forced": self.forced}


@dataclass(frozen=True, slots=True)
class Change:
    """One route set (``after``) or removed (``after is None``)."""

    route_id: str
    after: Route | None


class RouteStore:
    """Reads and changes the route table in the proxy database."""

    def __init__(self, engine: Engine, backends: Iterable[str]) -> None:
        self._engine = engine
        self.backends = tuple(backends)

    def version(self) -> int:
        """The table's version counter (cheap: proxies poll it)."""
        with self._engine.connect() as conn:
            return int(conn.scalar(select(tables.table_version.c.version)) or 0)

    def load(self) -> RouteTable:
        """The current table as an immutable snapshot."""
        with self._engine.connect() as conn:
            version = int(conn.scalar(select(tables.table_version.c.version)) or 0)
            rows = conn.execute(select(tables.routes.c.document)).scalars().all()
        return RouteTable([Route.from_dict(json.loads(doc)) for doc in rows], self.backends,
                          version)

    def change(self, changes: Sequence[Change], *, actor: str, source: str, action: str,
               reason: str, forced: bool = False) -> int:
        """Apply ``changes`` atomically; returns the new table version.

        Raises :class:`RouteError` (nothing written) if the resulting table is invalid.
        """
        if not reason.strip():
            raise RouteError("every change needs a reason")
        with self._engine.begin() as conn:
            _lock_table(conn)  # serialises writers before they read (validation sees all)
            current = _current(conn)
            proposed = dict(current)
            for change in changes:
                if change.after is None:
                    proposed.pop(change.route_id, None)
                else:
                    proposed[change.route_id] = change.after
            RouteTable(proposed.values(), self.backends)  # validates, or raises
            version = _bump(conn)
            now = utc_now()
            for change in changes:
                before = current.get(change.route_id)
                if change.after is None:
                    conn.execute(delete(tables.routes).where(tables.routes.c.id == change.route_id))
                elif before is None:
                    conn.execute(insert(tables.routes).values(
                        id=change.route_id, document=json.dumps(change.after.to_dict()),
                        updated_at=now))
                else:
                    conn.execute(update(tables.routes).where(
                        tables.routes.c.id == change.route_id).values(
                        document=json.dumps(change.after.to_dict()), updated_at=now))
                conn.execute(insert(tables.audit).values(
                    at=now, actor=actor, source=source, action=action,
                    route_id=change.route_id, reason=reason,
                    before=json.dumps(before.to_dict()) if before else None,
                    after=json.dumps(change.after.to_dict()) if change.after else None,
                    table_version=version, forced=forced))
            return version

    def last_change(self, route_id: str) -> AuditEntry | None:
        """The newest audit entry that changed ``route_id``."""
        entries = self.history(route_id=route_id, limit=1, changes_only=True)
        return entries[0] if entries else None

    def note(self, *, actor: str, source: str, action: str, reason: str,
             route_id: str | None = None) -> None:
        """Audit an event that changes no route (a breaker opening, a refused flip)."""
        with self._engine.begin() as conn:
            conn.execute(insert(tables.audit).values(
                at=utc_now(), actor=actor, source=source, action=action, route_id=route_id,
                reason=reason, forced=False))

    def history(self, *, route_id: str | None = None, limit: int = 50,
                changes_only: bool = False) -> list[AuditEntry]:
        """Audit entries, newest first."""
        query = select(tables.audit).order_by(tables.audit.c.id.desc()).limit(limit)
        if route_id is not None:
            query = query.where(tables.audit.c.route_id == route_id)
        if changes_only:
            query = query.where(tables.audit.c.table_version.is_not(None))
        with self._engine.connect() as conn:
            return [_entry(row) for row in conn.execute(query)]


def _lock_table(conn: Connection) -> None:
    """Make sure the version row exists, then lock it for the rest of the transaction.

    Every change takes this lock first, so two concurrent changes cannot both validate against
    the same old table (on SQLite, ``BEGIN IMMEDIATE`` already serialises writers).
    """
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(tables.table_version)
                 .values(id=1, version=0, updated_at=utc_now())
                 .on_conflict_do_nothing(index_elements=["id"]))
    conn.execute(select(tables.table_version.c.version).where(tables.table_version.c.id == 1)
                 .with_for_update())


def _current(conn: Connection) -> dict[str, Route]:
    rows = conn.execute(select(tables.routes.c.id, tables.routes.c.document)).all()
    return {route_id: Route.from_dict(json.loads(doc)) for route_id, doc in rows}


def _bump(conn: Connection) -> int:
    conn.execute(update(tables.table_version).where(tables.table_version.c.id == 1)
                 .values(version=tables.table_version.c.version + 1, updated_at=utc_now()))
    return int(conn.scalar(select(tables.table_version.c.version)) or 0)


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        id=row.id, at=row.at, actor=row.actor, source=row.source, action=row.action,
        route_id=row.route_id, reason=row.reason,
        before=json.loads(row.before) if row.before else None,
        after=json.loads(row.after) if row.after else None,
        table_version=row.table_version, forced=bool(row.forced))


def count_rows(engine: Engine, table: Any) -> int:
    """Rows in a proxy table (status and tests)."""
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(table)) or 0)
