"""The order API on SQLite and PostgreSQL: pricing, stock, events, atomicity, cancellation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from legacy_monolith.app import Shop
from legacy_monolith.orders.models import Order, OrderLine
from tests.conftest import outbox_events

STOCK_CHANGED = "inventory.stock.changed.v1"
ORDER_PLACED = "orders.order.placed.v1"
ORDER_CANCELLED = "orders.order.cancelled.v1"
NOTIFICATION = "notifications.notification.recorded.v1"
DECIDED = "notifications.handling.decided.v1"


@dataclass(frozen=True)
class World:
    customer: str
    apple: str  # APL-1, 120 EUR, 10 in stock
    banana: str  # BAN-1, 30 EUR, 2 in stock


def error_code(response: Any) -> str:
    assert set(response.json) == {"error"}
    return response.json["error"]["code"]  # type: ignore[no-any-return]


def product(client: FlaskClient, sku: str, price: int, **extra: Any) -> str:
    body = {"sku": sku, "name": sku.title(), "price_cents": price, "currency": "EUR", **extra}
    response = client.post("/api/products", json=body)
    assert response.status_code == 201, response.json
    return response.json["id"]  # type: ignore[no-any-return]


def stock(client: FlaskClient, sku: str) -> int:
    response = client.get(f"/api/inventory/{sku}")
    assert response.status_code == 200, response.json
    return response.json["quantity"]  # type: ignore[no-any-return]


@pytest.fixture
def world(client: FlaskClient) -> World:
    customer = client.post("/api/customers", json={"email": "ann@example.com", "name": "Ann"})
    assert customer.status_code == 201
    apple, banana = product(client, "APL-1", 120), product(client, "BAN-1", 30)
    assert client.put("/api/inventory/APL-1", json={"quantity": 10}).status_code == 200
    assert client.put("/api/inventory/BAN-1", json={"quantity": 2}).status_code == 200
    return World(customer.json["id"], apple, banana)


def place(client: FlaskClient, customer: str, *lines: tuple[str, int]) -> Any:
    return client.post("/api/orders", json={
        "customer_id": customer,
        "lines": [{"product_id": pid, "quantity": qty} for pid, qty in lines]})


def placed(client: FlaskClient, customer: str, *lines: tuple[str, int]) -> dict[str, Any]:
    response = place(client, customer, *lines)
    assert response.status_code == 201, response.json
    return response.json  # type: ignore[no-any-return]


def order_rows(shop: Shop) -> tuple[int, int]:
    with shop.uow.read() as session:
        orders = session.scalar(select(func.count()).select_from(Order)) or 0
        lines = session.scalar(select(func.count()).select_from(OrderLine)) or 0
        return orders, lines


def test_place_prices_lines_from_the_catalog_and_reserves_stock(
        client: FlaskClient, world: World) -> None:
    response = place(client, world.customer, (world.apple, 3), (world.banana, 2))
    order = response.json
    assert response.status_code == 201
    assert response.headers["Location"] == f"/api/orders/{order['id']}"
    assert order["customer_id"] == world.customer and order["status"] == "placed"
    assert order["lines"] == [
        {"product_id": world.apple, "sku": "APL-1", "name": "Apl-1", "unit_price_cents": 120,
         "quantity": 3, "line_total_cents": 360},
        {"product_id": world.banana, "sku": "BAN-1", "name": "Ban-1", "unit_price_cents": 30,
         "quantity": 2, "line_total_cents": 60},
    ]
    assert order["total_cents"] == 420 and order["currency"] == "EUR"
    assert client.get(f"/api/orders/{order['id']}").json == order
    assert (stock(client, "APL-1"), stock(client, "BAN-1")) == (7, 0)  # reserved


def test_the_order_keeps_the_price_and_name_it_was_placed_at(
        client: FlaskClient, world: World) -> None:
    order = placed(client, world.customer, (world.apple, 2))
    patch = client.patch(f"/api/products/{world.apple}", json={"price_cents": 999, "name": "Red"})
    assert patch.status_code == 200
    kept = client.get(f"/api/orders/{order['id']}").json
    assert kept["lines"][0]["unit_price_cents"] == 120 and kept["lines"][0]["name"] == "Apl-1"
    assert kept["total_cents"] == 240
    later = placed(client, world.customer, (world.apple, 1))
    assert later["lines"][0]["unit_price_cents"] == 999 and later["total_cents"] == 999


def test_place_publishes_reservations_then_the_order_in_one_request(
        client: FlaskClient, shop: Shop, world: World) -> None:
    before = len(outbox_events(shop))
    order = placed(client, world.customer, (world.banana, 1), (world.apple, 2))
    new = outbox_events(shop)[before:]
    assert [e.type for e in new] == [STOCK_CHANGED, STOCK_CHANGED, ORDER_PLACED, DECIDED,
                                     NOTIFICATION]
    reserved = [(e.subject, e.data["reason"], e.data["delta"], e.data["quantity"])
                for e in new[:2]]
    assert reserved == [("APL-1", "reserved", -2, 8), ("BAN-1", "reserved", -1, 1)]
    assert [e.aggregatesequence for e in new[:2]] == [2, 2]
    assert new[2].subject == order["id"] and new[2].aggregatesequence == 1
    assert dict(new[2].data) == order
    assert len({e.traceparent for e in new}) == 1 and new[0].traceparent is not None


def test_insufficient_stock_is_409_and_changes_nothing_in_any_module(
        client: FlaskClient, shop: Shop, world: World) -> None:
    before = [e.id for e in outbox_events(shop)]
    # APL-1 sorts first, so its reservation is made (and must be undone) before BAN-1 fails.
    response = place(client, world.customer, (world.apple, 5), (world.banana, 3))
    assert response.status_code == 409 and error_code(response) == "insufficient_stock"
    assert stock(client, "APL-1") == 10 and stock(client, "BAN-1") == 2
    assert order_rows(shop) == (0, 0)
    assert [e.id for e in outbox_events(shop)] == before


def test_a_sku_without_a_stock_record_is_insufficient(
        client: FlaskClient, shop: Shop, world: World) -> None:
    cherry = product(client, "CHR-1", 10)
    response = place(client, world.customer, (cherry, 1))
    assert response.status_code == 409 and error_code(response) == "insufficient_stock"
    assert client.get("/api/inventory/CHR-1").status_code == 404
    assert order_rows(shop) == (0, 0)


def test_rule_violations_are_422_with_their_code_and_write_nothing(
        client: FlaskClient, shop: Shop, world: World) -> None:
    inactive = product(client, "OLD-1", 50, active=False)
    dollars = product(client, "USD-1", 50, currency="USD")
    unknown = "0190b2a4-0000-7000-8000-000000000001"
    apple = (world.apple, 1)
    cases = [
        ("unknown_customer", "0190b2a4-0000-7000-8000-000000000000", [apple]),
        ("unknown_product", world.customer, [apple, (unknown, 1)]),
        ("product_inactive", world.customer, [apple, (inactive, 1)]),
        ("duplicate_product", world.customer, [apple, (world.apple, 2)]),
        ("mixed_currency", world.customer, [apple, (dollars, 1)]),
    ]
    before = [e.id for e in outbox_events(shop)]
    for code, customer, lines in cases:
        response = place(client, customer, *lines)
        assert response.status_code == 422 and error_code(response) == code, code
    assert order_rows(shop) == (0, 0)
    assert [e.id for e in outbox_events(shop)] == before
    assert stock(client, "APL-1") == 10


def test_malformed_order_is_422_validation_error(client: FlaskClient) -> None:
    line = {"product_id": "p", "quantity": 1}
    for body in (
        {"customer_id": "c", "lines": []},
        {"customer_id": "c", "lines": [{**line, "quantity": 0}]},
        {"customer_id": "c", "lines": [{**line, "quantity": 1001}]},
        {"customer_id": "c", "lines": [{**line, "quantity": "1"}]},
        {"customer_id": "c", "lines": [{**line, "unit_price_cents": 1}]},
        {"customer_id": "", "lines": [line]},
        {"lines": [line]},
    ):
        response = client.post("/api/orders", json=body)
        assert response.status_code == 422, body
        assert error_code(response) == "validation_error"


def test_list_by_customer_paginates_oldest_first(client: FlaskClient, world: World) -> None:
    ids = [placed(client, world.customer, (world.apple, 1))["id"] for _ in range(3)]
    other = client.post("/api/customers", json={"email": "bob@example.com", "name": "Bob"})
    placed(client, other.json["id"], (world.apple, 1))
    first = client.get(f"/api/orders?customer_id={world.customer}&per_page=2")
    assert first.status_code == 200
    assert [o["id"] for o in first.json["items"]] == ids[:2]
    assert (first.json["page"], first.json["per_page"], first.json["total"]) == (1, 2, 3)
    second = client.get(f"/api/orders?customer_id={world.customer}&per_page=2&page=2").json
    assert [o["id"] for o in second["items"]] == ids[2:] and second["total"] == 3
    beyond = client.get(f"/api/orders?customer_id={world.customer}&per_page=2&page=3").json
    assert beyond["items"] == [] and beyond["total"] == 3


def test_list_without_customer_id_is_400(client: FlaskClient) -> None:
    for url in ("/api/orders", "/api/orders?customer_id="):
        response = client.get(url)
        assert response.status_code == 400 and error_code(response) == "invalid_query"


def test_cancel_releases_stock_and_publishes_cancelled_with_sequence_2(
        client: FlaskClient, shop: Shop, world: World) -> None:
    order = placed(client, world.customer, (world.apple, 4))
    before = len(outbox_events(shop))
    response = client.post(f"/api/orders/{order['id']}/cancel")
    assert response.status_code == 200
    cancelled = response.json
    assert cancelled["status"] == "cancelled" and cancelled["total_cents"] == 480
    assert cancelled["created_at"] == order["created_at"]
    assert stock(client, "APL-1") == 10
    new = outbox_events(shop)[before:]
    assert [e.type for e in new] == [STOCK_CHANGED, ORDER_CANCELLED, DECIDED, NOTIFICATION]
    assert (new[0].data["reason"], new[0].data["delta"]) == ("released", 4)
    assert new[1].subject == order["id"] and new[1].aggregatesequence == 2
    assert dict(new[1].data) == cancelled
    assert client.get(f"/api/orders/{order['id']}").json == cancelled


def test_cancelling_twice_is_409_and_releases_nothing_more(
        client: FlaskClient, shop: Shop, world: World) -> None:
    order = placed(client, world.customer, (world.apple, 4))
    assert client.post(f"/api/orders/{order['id']}/cancel").status_code == 200
    before = [e.id for e in outbox_events(shop)]
    response = client.post(f"/api/orders/{order['id']}/cancel")
    assert response.status_code == 409 and error_code(response) == "order_not_cancellable"
    assert stock(client, "APL-1") == 10
    assert [e.id for e in outbox_events(shop)] == before


def test_unknown_order_is_404(client: FlaskClient) -> None:
    url = "/api/orders/0190b2a4-0000-7000-8000-000000000000"
    assert error_code(client.get(url)) == "order_not_found"
    response = client.post(f"{url}/cancel")
    assert response.status_code == 404 and error_code(response) == "order_not_found"
