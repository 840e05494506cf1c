"""HTTP entry points of the notifications module: ``/api/notifications``."""

from __future__ import annotations

from flask import Blueprint, Response, request

from legacy_monolith.notifications.facade import NotificationsFacade
from legacy_monolith.platform.web import ApiError, json_response, page_payload, page_request


def create_blueprint(notifications: NotificationsFacade) -> Blueprint:
    """The notification routes, bound to one facade."""
    bp = Blueprint("notifications", __name__, url_prefix="/api/notifications")

    @bp.get("")
    def list_notifications() -> Response:
        customer_id = request.args.get("customer_id")
        if not customer_id:
            raise ApiError(400, "invalid_query", "customer_id is required")
        page = page_request()
        items, total = notifications.list_notifications(
            customer_id, offset=page.offset, limit=page.per_page)
        return json_response(page_payload(items, page, total))

    return bp
