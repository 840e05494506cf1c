"""The product API on SQLite and PostgreSQL: every endpoint, its errors and its events."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from legacy_monolith.app import Shop
from tests.conftest import outbox_events

APPLE = {"sku": "APL-1", "name": "Apple", "price_cents": 120, "currency": "EUR"}


def create(client: FlaskClient, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/products", json={**APPLE, **overrides})
    assert response.status_code == 201, response.json
    return response.json  # type: ignore[return-value]


def error_code(response: Any) -> str:
    assert set(response.json) == {"error"}
    return response.json["error"]["code"]  # type: ignore[no-any-return]


def test_create_returns_the_product_with_defaults_and_location(client: FlaskClient) -> None:
    response = client.post("/api/products", json=APPLE)
    body = response.json
    assert response.status_code == 201
    assert response.headers["Location"] == f"/api/products/{body['id']}"
    assert body["description"] == "" and body["active"] is True
    assert body["created_at"] == body["updated_at"]
    assert body["created_at"].endswith("+00:00")
    assert client.get(f"/api/products/{body['id']}").json == body


def test_create_writes_one_event_with_the_full_state(client: FlaskClient, shop: Shop) -> None:
    product = create(client)
    [event] = outbox_events(shop)
    assert event.type == "catalog.product.created.v1"
    assert event.subject == product["id"] and event.aggregatesequence == 1
    assert dict(event.data) == product
    assert event.origin == "monolith"


def test_taken_sku_is_409_and_writes_nothing(client: FlaskClient, shop: Shop) -> None:
    create(client)
    response = client.post("/api/products", json={**APPLE, "name": "Other"})
    assert response.status_code == 409 and error_code(response) == "sku_taken"
    assert len(outbox_events(shop)) == 1


def test_patch_changes_only_given_fields_and_bumps_the_sequence(
        client: FlaskClient, shop: Shop) -> None:
    product = create(client)
    response = client.patch(f"/api/products/{product['id']}", json={"price_cents": 150})
    assert response.status_code == 200
    assert response.json["price_cents"] == 150 and response.json["name"] == "Apple"
    events = outbox_events(shop)
    assert [e.aggregatesequence for e in events] == [1, 2]
    assert events[1].type == "catalog.product.updated.v1"
    assert dict(events[1].data) == response.json


def test_patch_without_a_change_writes_no_event(client: FlaskClient, shop: Shop) -> None:
    product = create(client)
    response = client.patch(f"/api/products/{product['id']}", json={"price_cents": 120})
    assert response.status_code == 200 and response.json == product
    assert len(outbox_events(shop)) == 1


def test_put_requires_every_field(client: FlaskClient) -> None:
    product = create(client)
    response = client.put(f"/api/products/{product['id']}", json={"name": "Pear"})
    assert response.status_code == 422 and error_code(response) == "validation_error"
    fields = {d["field"] for d in response.json["error"]["details"]}
    assert fields == {"sku", "description", "price_cents", "currency", "active"}


def test_put_replaces_the_product(client: FlaskClient) -> None:
    product = create(client)
    replacement = {"sku": "PEAR-1", "name": "Pear", "description": "Green", "price_cents": 99,
                   "currency": "USD", "active": False}
    response = client.put(f"/api/products/{product['id']}", json=replacement)
    assert response.status_code == 200
    assert {k: response.json[k] for k in replacement} == replacement
    assert response.json["created_at"] == product["created_at"]


def test_delete_removes_the_product_and_publishes_deleted(client: FlaskClient, shop: Shop) -> None:
    product = create(client)
    assert client.delete(f"/api/products/{product['id']}").status_code == 204
    assert error_code(client.get(f"/api/products/{product['id']}")) == "product_not_found"
    deleted = outbox_events(shop)[-1]
    assert deleted.type == "catalog.product.deleted.v1" and deleted.aggregatesequence == 2
    assert deleted.data["sku"] == "APL-1"


def test_list_paginates_in_creation_order_and_filters_by_name(client: FlaskClient) -> None:
    ids = [create(client, sku=f"S-{n}", name=f"{'Red' if n % 2 else 'Blue'} {n}")["id"]
           for n in range(5)]
    page = client.get("/api/products?page=2&per_page=2").json
    assert [p["id"] for p in page["items"]] == ids[2:4]
    assert (page["page"], page["per_page"], page["total"]) == (2, 2, 5)
    red = client.get("/api/products?q=rED").json
    assert red["total"] == 2 and all("Red" in p["name"] for p in red["items"])


def test_name_filter_treats_wildcards_literally(client: FlaskClient) -> None:
    create(client, sku="P1", name="100% cotton")
    create(client, sku="P2", name="1000 cotton")
    assert client.get("/api/products?q=0%25").json["total"] == 1


def test_unknown_product_is_404_for_every_method(client: FlaskClient) -> None:
    url = "/api/products/does-not-exist"
    assert error_code(client.get(url)) == "product_not_found"
    assert client.patch(url, json={"name": "x"}).status_code == 404
    assert client.delete(url).status_code == 404
