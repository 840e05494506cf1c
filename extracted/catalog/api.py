"""HTTP entry points of the catalog service: ``/api/products``, as the monolith serves them.

The routes, bodies, query rules, status codes and error codes are the monolith's, so the proxy
can move any of them here without a client noticing. Writes succeed only while the service owns
the catalog's writes; before the cutover (and after a rollback) they answer 503
``not_write_owner`` and change nothing.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, request, url_for
from sqlalchemy.exc import IntegrityError

from extracted.catalog.queries import ProductQueries
from extracted.catalog.schemas import ProductCreate, ProductPatch, ProductReplace
from extracted.catalog.writes import ProductNotFound, ProductWrites, SkuTaken
from strangler_http.web import (
    ApiError,
    error_response,
    json_response,
    page_payload,
    page_request,
    parse_body,
)
from strangler_messaging.ownership import NotWriteOwner

MAX_QUERY_LENGTH = 100


def create_blueprint(queries: ProductQueries, writes: ProductWrites) -> Blueprint:
    """The product routes, bound to the service's copy and its write side."""
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

    @bp.post("")
    def create_product() -> Response:
        body = parse_body(ProductCreate)
        product = writes.create_product(body.model_dump())
        response = json_response(product, 201)
        response.headers["Location"] = url_for(".get_product", product_id=product["id"])
        return response

    @bp.get("/<product_id>")
    def get_product(product_id: str) -> Response:
        product = queries.get_product(product_id)
        if product is None:
            raise ProductNotFound(product_id)
        return json_response(product)

    @bp.put("/<product_id>")
    def replace_product(product_id: str) -> Response:
        body = parse_body(ProductReplace)
        return json_response(writes.update_product(product_id, body.model_dump()))

    @bp.patch("/<product_id>")
    def patch_product(product_id: str) -> Response:
        body = parse_body(ProductPatch)
        return json_response(writes.update_product(product_id,
                                                   body.model_dump(exclude_unset=True)))

    @bp.delete("/<product_id>")
    def delete_product(product_id: str) -> Response:
        writes.delete_product(product_id)
        return Response(status=204)

    return bp


def register_catalog_errors(app: Flask) -> None:
    """Map the catalog's own failures to the monolith's statuses and codes."""

    @app.errorhandler(ProductNotFound)
    def _not_found(exc: ProductNotFound) -> Response:
        return error_response(404, "product_not_found", str(exc))

    @app.errorhandler(SkuTaken)
    def _sku_taken(exc: SkuTaken) -> Response:
        return error_response(409, "sku_taken", str(exc))

    @app.errorhandler(IntegrityError)
    def _integrity_error(_exc: IntegrityError) -> Response:
        return error_response(409, "conflict", "the change conflicts with existing data")

    @app.errorhandler(NotWriteOwner)
    def _not_owner(exc: NotWriteOwner) -> Response:
        response = error_response(503, "not_write_owner", str(exc))
        response.headers["Retry-After"] = "1"
        return response
