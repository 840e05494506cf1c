"""HTTP entry points of the customers module: ``/api/customers``."""

from __future__ import annotations

from flask import Blueprint, Response, url_for

from legacy_monolith.customers.facade import CustomersFacade
from legacy_monolith.customers.schemas import CustomerRegister
from legacy_monolith.platform.web import json_response, parse_body


def create_blueprint(customers: CustomersFacade) -> Blueprint:
    """The customer routes, bound to one facade."""
    bp = Blueprint("customers", __name__, url_prefix="/api/customers")

    @bp.post("")
    def register() -> Response:
        body = parse_body(CustomerRegister)
        customer = customers.register(email=body.email, name=body.name)
        response = json_response(customer, 201)
        response.headers["Location"] = url_for(".get_customer", customer_id=customer["id"])
        return response

    @bp.get("/<customer_id>")
    def get_customer(customer_id: str) -> Response:
        return json_response(customers.get(customer_id))

    return bp
