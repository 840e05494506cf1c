"""Sampled shadow mismatches in the proxy database, kept to a bounded number per route."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select

from strangler_messaging.sqltypes import utc_now
from strangler_proxy import tables

KEEP_PER_ROUTE = 500


def record_mismatch(engine: Engine, route_id: str, method: str, target: bytes,
                    legacy_status: int, service_status: int | None, found: list[str],
                    keep: int = KEEP_PER_ROUTE) -> None:
    """Store one mismatch and forget the oldest beyond ``keep`` for that route."""
    table = tables.mismatches
    with engine.begin() as conn:
        conn.execute(insert(table).values(
            at=utc_now(), route_id=route_id, method=method,
            target=target.decode("latin-1")[:2000], legacy_status=legacy_status,
            service_status=service_status, differences=json.dumps(found)))
        newest = conn.scalar(select(func.max(table.c.id)).where(table.c.route_id == route_id))
        if newest is not None and newest > keep:
            conn.execute(delete(table).where(table.c.route_id == route_id,
                                             table.c.id <= newest - keep))


def recent_mismatches(engine: Engine, route_id: str | None = None, limit: int = 20
                      ) -> list[dict[str, Any]]:
    """The newest mismatches, for status and debugging."""
    table = tables.mismatches
    query = select(table).order_by(table.c.id.desc()).limit(limit)
    if route_id is not None:
        query = query.where(table.c.route_id == route_id)
    with engine.connect() as conn:
        return [{"at": row.at.isoformat(timespec="milliseconds"), "route_id": row.route_id,
                 "method": row.method, "target": row.target,
                 "legacy_status": row.legacy_status, "service_status": row.service_status,
                 "differences": json.loads(row.differences)} for row in conn.execute(query)]
