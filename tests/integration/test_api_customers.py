"""The customer API on SQLite and PostgreSQL: registration, lookup, validation and events."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from legacy_monolith.app import Shop
from legacy_monolith.customers.models import Customer
from tests.conftest import outbox_events

ANN = {"email": "Ann.Lee@Example.COM", "name": "Ann Lee"}


def register(client: FlaskClient, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/customers", json={**ANN, **overrides})
    assert response.status_code == 201, response.json
    return response.json  # type: ignore[return-value]


def error_code(response: Any) -> str:
    assert set(response.json) == {"error"}
    return response.json["error"]["code"]  # type: ignore[no-any-return]


def customer_count(shop: Shop) -> int:
    with shop.uow.read() as session:
        return session.scalar(select(func.count()).select_from(Customer)) or 0


def test_register_returns_the_customer_with_location_and_lower_cased_email(
        client: FlaskClient) -> None:
    response = client.post("/api/customers", json=ANN)
    body = response.json
    assert response.status_code == 201
    assert set(body) == {"id", "email", "name", "created_at"}
    assert body["email"] == "ann.lee@example.com" and body["name"] == "Ann Lee"
    assert body["created_at"].endswith("+00:00")
    assert response.headers["Location"] == f"/api/customers/{body['id']}"


def test_register_publishes_registered_with_sequence_1(client: FlaskClient, shop: Shop) -> None:
    customer = register(client)
    registered = [e for e in outbox_events(shop)
                  if e.type == "customers.customer.registered.v1"]
    assert len(registered) == 1
    [event] = registered
    assert event.subject == customer["id"] and event.aggregatesequence == 1
    assert event.aggregatetype == "customer"
    assert dict(event.data) == customer


def test_email_taken_in_another_case_is_409_and_writes_nothing(
        client: FlaskClient, shop: Shop) -> None:
    register(client)
    before = outbox_events(shop)
    response = client.post("/api/customers",
                           json={"email": "ANN.LEE@example.com", "name": "Someone Else"})
    assert response.status_code == 409 and error_code(response) == "email_taken"
    assert customer_count(shop) == 1
    assert [e.id for e in outbox_events(shop)] == [e.id for e in before]


def test_get_returns_what_register_returned(client: FlaskClient) -> None:
    customer = register(client)
    response = client.get(f"/api/customers/{customer['id']}")
    assert response.status_code == 200 and response.json == customer


def test_unknown_customer_is_404(client: FlaskClient) -> None:
    response = client.get("/api/customers/0190b2a4-0000-7000-8000-000000000000")
    assert response.status_code == 404 and error_code(response) == "customer_not_found"


INVALID = [
    ({"email": "not-an-email", "name": "Ann"}, "email"),
    ({"email": "ann@example", "name": "Ann"}, "email"),
    ({"email": "ann lee@example.com", "name": "Ann"}, "email"),
    ({"email": 42, "name": "Ann"}, "email"),
    ({"email": "ann@example.com"}, "name"),
    ({"email": "ann@example.com", "name": ""}, "name"),
    ({"email": "ann@example.com", "name": "Ann", "admin": True}, "admin"),
]


def test_invalid_registration_is_422_with_the_field_and_writes_nothing(
        client: FlaskClient, shop: Shop) -> None:
    for body, field in INVALID:
        response = client.post("/api/customers", json=body)
        assert response.status_code == 422 and error_code(response) == "validation_error", body
        assert [d["field"] for d in response.json["error"]["details"]] == [field], body
    assert customer_count(shop) == 0 and outbox_events(shop) == []
