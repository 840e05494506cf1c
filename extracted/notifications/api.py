"""``GET /api/notifications?customer_id=``: the monolith's route, answered from this service.

It lists what this service recorded and the copies of what the monolith recorded, oldest first,
in the monolith's page shape and with its errors.
"""

from __future__ import annotations

from flask import Blueprint, Response, request
from sqlalchemy import Engine, func, select

from extracted.notifications.recording import snapshot
from extracted.notifications.tables import notifications
from strangler_http.web import ApiError, json_response, page_payload, page_request
from strangler_messaging.db import READ_ONLY


def create_blueprint(engine: Engine) -> Blueprint:
    """The notification routes, reading the service's database."""
    bp = Blueprint("notifications", __name__, url_prefix="/api/notifications")
    reader = engine.execution_options(**{READ_ONLY: True})

    @bp.get("")
    def list_notifications() -> Response:
        customer_id = request.args.get("customer_id")
        if not customer_id:
            raise ApiError(400, "invalid_query", "customer_id is required")
        page = page_request()
        mine = notifications.c.customer_id == customer_id
        with reader.begin() as conn:
            total = conn.scalar(select(func.count()).select_from(notifications).where(mine))
            rows = conn.execute(select(notifications).where(mine).order_by(
                notifications.c.created_at, notifications.c.id)
                .offset(page.offset).limit(page.per_page))
            items = [snapshot(row._mapping) for row in rows]
        return json_response(page_payload(items, page, total or 0))

    return bp
