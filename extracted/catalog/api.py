"""HTTP entry points of the catalog service: the read half of ``/api/products``.

The routes, query rules and error codes are the monolith's. Writes (POST, PUT, PATCH,
DELETE) are not served here yet: until the write cutover they stay with the monolith, and the
proxy routes them there.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from extracted.catalog.queries import ProductQueries
from strangler_http.web import ApiError, json_response, page_payload, page_request

MAX_QUERY_LENGTH = 100


def create_blueprint(queries: ProductQueries) -> Blueprint:
    """The product read routes, bound to one copy of the catalog."""
    bp = Blueprint("catalog", __name__, url_prefix="/api/products")

    @bp.get("")
    def list_products() -> Response:
        page = page_request()
        name_contains = request.args.get("q") or None
        if name_contains and len(name_contains) > MAX_QUERY_LENGTH:
            raise ApiError(400, "invalid_query", f"q must be at most {MAX_QUERY_LENGTH} characters")
        items, total = queries.list_products(name_contains=name_contains, offset=page.offset,
                                             limit=page.per_page)
        return json_response(page_payload(items, page, total))

    @bp.get("/<product_id>")
    def get_product(product_id: str) -> Response:
        product = queries.get_product(product_id)
        if product is None:
            raise ApiError(404, "product_not_found", f"product {product_id} does not exist")
        return json_response(product)

    return bp
