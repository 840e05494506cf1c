"""The stock API on SQLite and PostgreSQL: counting stock, its events and bad quantities."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from legacy_monolith.app import Shop
from legacy_monolith.inventory.models import StockItem
from tests.conftest import outbox_events

STOCK_CHANGED = "inventory.stock.changed.v1"


def set_stock(client: FlaskClient, sku: str, quantity: int) -> dict[str, Any]:
    response = client.put(f"/api/inventory/{sku}", json={"quantity": quantity})
    assert response.status_code == 200, response.json
    return response.json  # type: ignore[return-value]


def error_code(response: Any) -> str:
    assert set(response.json) == {"error"}
    return response.json["error"]["code"]  # type: ignore[no-any-return]


def stock_records(shop: Shop) -> int:
    with shop.uow.read() as session:
        return session.scalar(select(func.count()).select_from(StockItem)) or 0


def test_set_creates_the_record_and_publishes_a_set_change(
        client: FlaskClient, shop: Shop) -> None:
    body = set_stock(client, "APL-1", 7)
    assert set(body) == {"sku", "quantity", "updated_at"}
    assert body["sku"] == "APL-1" and body["quantity"] == 7
    [event] = outbox_events(shop)
    assert event.type == STOCK_CHANGED and event.subject == "APL-1"
    assert event.aggregatetype == "stock" and event.aggregatesequence == 1
    assert dict(event.data) == {**body, "delta": 7, "reason": "set"}


def test_a_recount_publishes_the_delta_and_bumps_the_sequence(
        client: FlaskClient, shop: Shop) -> None:
    set_stock(client, "APL-1", 7)
    body = set_stock(client, "APL-1", 3)
    assert body["quantity"] == 3
    events = outbox_events(shop)
    assert [(e.aggregatesequence, e.data["delta"], e.data["quantity"]) for e in events] == [
        (1, 7, 7), (2, -4, 3)]
    assert {e.data["reason"] for e in events} == {"set"}


def test_setting_the_same_quantity_again_publishes_nothing(
        client: FlaskClient, shop: Shop) -> None:
    first = set_stock(client, "APL-1", 5)
    again = set_stock(client, "APL-1", 5)
    assert again == first
    assert len(outbox_events(shop)) == 1


def test_a_first_count_of_zero_still_creates_the_record(client: FlaskClient, shop: Shop) -> None:
    assert set_stock(client, "EMPTY-1", 0)["quantity"] == 0
    assert client.get("/api/inventory/EMPTY-1").json["quantity"] == 0
    [event] = outbox_events(shop)
    assert event.data["delta"] == 0 and event.aggregatesequence == 1


def test_get_returns_the_current_stock_and_404_for_an_unknown_sku(client: FlaskClient) -> None:
    body = set_stock(client, "APL-1", 12)
    response = client.get("/api/inventory/APL-1")
    assert response.status_code == 200 and response.json == body
    unknown = client.get("/api/inventory/NOPE-1")
    assert unknown.status_code == 404 and error_code(unknown) == "stock_not_found"


def test_a_bad_body_is_422_and_writes_nothing(client: FlaskClient, shop: Shop) -> None:
    bodies: list[tuple[Any, str]] = [
        *(({"quantity": q}, "quantity")
          for q in (-1, 1.0, 2.5, "3", True, None, 1_000_000_001)),
        ({}, "quantity"),
        ({"quantity": 1, "reason": "recount"}, "reason"),
    ]
    for body, field in bodies:
        response = client.put("/api/inventory/APL-1", json=body)
        assert response.status_code == 422, body
        assert error_code(response) == "validation_error"
        assert [d["field"] for d in response.json["error"]["details"]] == [field], body
    assert stock_records(shop) == 0 and outbox_events(shop) == []


def test_a_sku_no_product_could_have_is_refused_before_the_database(
        client: FlaskClient, shop: Shop) -> None:
    # Longer than the 64-character column: stored on SQLite and a 500 on PostgreSQL until fixed.
    for sku in ("A" * 65, "-leading-dash", "has%20space", "%C3%A9t%C3%A9"):
        response = client.put(f"/api/inventory/{sku}", json={"quantity": 1})
        assert response.status_code == 422 and error_code(response) == "validation_error", sku
        assert [d["field"] for d in response.json["error"]["details"]] == ["sku"]
        missing = client.get(f"/api/inventory/{sku}")
        assert missing.status_code == 404 and error_code(missing) == "stock_not_found", sku
    assert stock_records(shop) == 0 and outbox_events(shop) == []
    assert set_stock(client, "A" * 64, 1)["sku"] == "A" * 64
