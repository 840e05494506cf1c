"""HTTP entry points of the inventory module: ``/api/inventory/{sku}``."""

from __future__ import annotations

from flask import Blueprint, Response

from legacy_monolith.inventory.facade import InventoryFacade
from legacy_monolith.inventory.schemas import StockSet
from legacy_monolith.platform.web import json_response, parse_body


def create_blueprint(inventory: InventoryFacade) -> Blueprint:
    """The stock routes, bound to one facade."""
    bp = Blueprint("inventory", __name__, url_prefix="/api/inventory")

    @bp.get("/<sku>")
    def get_stock(sku: str) -> Response:
        return json_response(inventory.get_stock(sku))

    @bp.put("/<sku>")
    def set_stock(sku: str) -> Response:
        body = parse_body(StockSet)
        return json_response(inventory.set_stock(sku, body.quantity))

    return bp
