"""HTTP entry points of the catalog: ``/api/products``."""

from __future__ import annotations

from flask import Blueprint, Response, request, url_for

from legacy_monolith.catalog.facade import CatalogFacade
from legacy_monolith.catalog.schemas import ProductCreate, ProductPatch, ProductReplace
from legacy_monolith.platform.web import (
    ApiError,
    json_response,
    page_payload,
    page_request,
    parse_body,
)

MAX_QUERY_LENGTH = 100


def create_blueprint(catalog: CatalogFacade) -> Blueprint:
    """The product routes, bound to one catalog facade."""
    bp = Blueprint("catalog", __name__, url_prefix="/api/products")

    @bp.get("")
    def list_products() -> Response:
        page = page_request()
        name_contains = request.args.get("q") or None
        if name_contains and len(name_contains) > MAX_QUERY_LENGTH:
            raise ApiError(400, "invalid_query", f"q must be at most {MAX_QUERY_LENGTH} characters")
        items, total = catalog.list_products(name_contains=name_contains, offset=page.offset,
                                             limit=page.per_page)
        return json_response(page_payload(items, page, total))

    @bp.post("")
    def create_product() -> Response:
        body = parse_body(ProductCreate)
        product = catalog.create_product(body.model_dump())
        response = json_response(product, 201)
        response.headers["Location"] = url_for(".get_product", product_id=product["id"])
        return response

    @bp.get("/<product_id>")
    def get_product(product_id: str) -> Response:
        return json_response(catalog.get_product(product_id))

    @bp.put("/<product_id>")
    def replace_product(product_id: str) -> Response:
        body = parse_body(ProductReplace)
        return json_response(catalog.update_product(product_id, body.model_dump()))

    @bp.patch("/<product_id>")
    def patch_product(product_id: str) -> Response:
        body = parse_body(ProductPatch)
        changes = body.model_dump(exclude_unset=True)
        return json_response(catalog.update_product(product_id, changes))

    @bp.delete("/<product_id>")
    def delete_product(product_id: str) -> Response:
        catalog.delete_product(product_id)
        return Response(status=204)

    return bp
