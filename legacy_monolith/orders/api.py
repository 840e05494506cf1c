"""HTTP entry points of the orders module: ``/api/orders``."""

from __future__ import annotations

from flask import Blueprint, Response, request, url_for

from legacy_monolith.orders.facade import OrdersFacade
from legacy_monolith.orders.schemas import OrderPlace
from legacy_monolith.platform.web import (
    ApiError,
    json_response,
    page_payload,
    page_request,
    parse_body,
)


def create_blueprint(orders: OrdersFacade) -> Blueprint:
    """The order routes, bound to one facade."""
    bp = Blueprint("orders", __name__, url_prefix="/api/orders")

    @bp.post("")
    def place_order() -> Response:
        body = parse_body(OrderPlace)
        order = orders.place_order(body.customer_id,
                                   [(line.product_id, line.quantity) for line in body.lines])
        response = json_response(order, 201)
        response.headers["Location"] = url_for(".get_order", order_id=order["id"])
        return response

    @bp.get("")
    def list_orders() -> Response:
        customer_id = request.args.get("customer_id")
        if not customer_id:
            raise ApiError(400, "invalid_query", "customer_id is required")
        page = page_request()
        items, total = orders.list_orders(customer_id, offset=page.offset, limit=page.per_page)
        return json_response(page_payload(items, page, total))

    @bp.get("/<order_id>")
    def get_order(order_id: str) -> Response:
        return json_response(orders.get_order(order_id))

    @bp.post("/<order_id>/cancel")
    def cancel_order(order_id: str) -> Response:
        return json_response(orders.cancel_order(order_id))

    return bp
