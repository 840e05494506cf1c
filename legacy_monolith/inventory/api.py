"""HTTP entry points of the inventory module: ``/api/inventory/{sku}``."""

from __future__ import annotations

import re

from flask import Blueprint, Response

from legacy_monolith.inventory.facade import InventoryFacade
from legacy_monolith.inventory.schemas import SKU_PATTERN, StockSet
from legacy_monolith.platform.web import ApiError, json_response, parse_body

_SKU = re.compile(SKU_PATTERN)


def create_blueprint(inventory: InventoryFacade) -> Blueprint:
    """The stock routes, bound to one facade."""
    bp = Blueprint("inventory", __name__, url_prefix="/api/inventory")

    @bp.get("/<sku>")
    def get_stock(sku: str) -> Response:
        if not _valid_sku(sku):
            raise ApiError(404, "stock_not_found", f"no stock record for {sku[:64]}")
        return json_response(inventory.get_stock(sku))

    @bp.put("/<sku>")
    def set_stock(sku: str) -> Response:
        body = parse_body(StockSet)
        if not _valid_sku(sku):
            raise ApiError(422, "validation_error", "invalid SKU in the path",
                           [{"field": "sku", "message": "must be 1-64 characters of "
                             "A-Z a-z 0-9 . _ - starting with a letter or digit"}])
        return json_response(inventory.set_stock(sku, body.quantity))

    return bp


def _valid_sku(sku: str) -> bool:
    return len(sku) <= 64 and _SKU.fullmatch(sku) is not None
