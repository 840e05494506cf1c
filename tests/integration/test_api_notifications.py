"""Notifications on SQLite and PostgreSQL: recorded from events, listed, deduplicated."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from legacy_monolith.app import Shop
from legacy_monolith.notifications.models import Notification
from strangler_messaging import CloudEvent
from tests.conftest import outbox_events

REGISTERED = "customers.customer.registered.v1"
RECORDED = "notifications.notification.recorded.v1"
DECIDED = "notifications.handling.decided.v1"


def error_code(response: Any) -> str:
    assert set(response.json) == {"error"}
    return response.json["error"]["code"]  # type: ignore[no-any-return]


def register(client: FlaskClient, email: str = "Ann@Example.com") -> str:
    response = client.post("/api/customers", json={"email": email, "name": "Ann"})
    assert response.status_code == 201, response.json
    return response.json["id"]  # type: ignore[no-any-return]


def notification_count(shop: Shop) -> int:
    with shop.uow.read() as session:
        return session.scalar(select(func.count()).select_from(Notification)) or 0


def order_and_cancel(client: FlaskClient, customer: str) -> str:
    product = client.post("/api/products", json={"sku": "APL-1", "name": "Apple",
                                                 "price_cents": 250, "currency": "EUR"})
    assert client.put("/api/inventory/APL-1", json={"quantity": 5}).status_code == 200
    order = client.post("/api/orders", json={
        "customer_id": customer, "lines": [{"product_id": product.json["id"], "quantity": 2}]})
    assert order.status_code == 201, order.json
    assert client.post(f"/api/orders/{order.json['id']}/cancel").status_code == 200
    return order.json["id"]  # type: ignore[no-any-return]


def test_register_order_cancel_gives_three_notifications_oldest_first(
        client: FlaskClient) -> None:
    customer = register(client)
    order_id = order_and_cancel(client, customer)
    register(client, "bob@example.com")
    response = client.get(f"/api/notifications?customer_id={customer}")
    assert response.status_code == 200
    page = response.json
    assert (page["page"], page["per_page"], page["total"]) == (1, 20, 3)
    items = page["items"]
    assert [n["kind"] for n in items] == ["welcome", "order_placed", "order_cancelled"]
    assert {n["recipient"] for n in items} == {"ann@example.com"}
    assert {n["customer_id"] for n in items} == {customer}
    assert items[0]["body"] == "Hello Ann, your account is ready."
    assert order_id in items[1]["subject"] and "5.00 EUR" in items[1]["body"]
    assert order_id in items[2]["subject"]
    assert [n["created_at"] for n in items] == sorted(n["created_at"] for n in items)


def test_notifications_are_paginated(client: FlaskClient) -> None:
    customer = register(client)
    order_and_cancel(client, customer)
    everything = client.get(f"/api/notifications?customer_id={customer}").json["items"]
    second = client.get(f"/api/notifications?customer_id={customer}&page=2&per_page=2").json
    assert second["items"] == everything[2:] and second["total"] == 3
    assert (second["page"], second["per_page"]) == (2, 2)
    empty = client.get("/api/notifications?customer_id=nobody").json
    assert empty["items"] == [] and empty["total"] == 0


def test_each_notification_publishes_a_recorded_event(client: FlaskClient, shop: Shop) -> None:
    customer = register(client)
    order_and_cancel(client, customer)
    listed = client.get(f"/api/notifications?customer_id={customer}").json["items"]
    recorded = [e for e in outbox_events(shop) if e.type == RECORDED]
    assert [dict(e.data) for e in recorded] == listed
    assert [e.subject for e in recorded] == [n["id"] for n in listed]
    assert {e.aggregatesequence for e in recorded} == {1}


def test_listing_without_customer_id_is_400(client: FlaskClient) -> None:
    for url in ("/api/notifications", "/api/notifications?customer_id="):
        response = client.get(url)
        assert response.status_code == 400 and error_code(response) == "invalid_query"


def test_a_failing_subscriber_does_not_fail_the_publisher(
        client: FlaskClient, shop: Shop, caplog: pytest.LogCaptureFixture) -> None:
    calls: list[str] = []

    def broken(event: CloudEvent) -> None:
        calls.append(event.id)
        raise RuntimeError("subscriber bug")

    shop.bus.subscribe(REGISTERED, broken)
    response = client.post("/api/customers", json={"email": "ann@example.com", "name": "Ann"})
    assert response.status_code == 201
    assert len(calls) == 1 and shop.bus.failures == 1
    assert client.get(f"/api/customers/{response.json['id']}").status_code == 200
    listed = client.get(f"/api/notifications?customer_id={response.json['id']}").json
    assert [n["kind"] for n in listed["items"]] == ["welcome"]
    assert [e.type for e in outbox_events(shop)] == [REGISTERED, DECIDED, RECORDED]
    logged = [r for r in caplog.records if r.name == "legacy_monolith.platform.event_bus"]
    assert len(logged) == 1 and logged[0].exc_info is not None
    assert str(logged[0].exc_info[1]) == "subscriber bug"


def test_the_same_event_delivered_twice_records_one_notification(
        client: FlaskClient, shop: Shop) -> None:
    register(client)
    [registered] = [e for e in outbox_events(shop) if e.type == REGISTERED]
    assert notification_count(shop) == 1
    shop.notifications.handle(registered)
    shop.notifications.handle(registered)
    assert notification_count(shop) == 1
    assert len([e for e in outbox_events(shop) if e.type == RECORDED]) == 1


def test_a_redelivered_event_is_recorded_once_when_first_seen_out_of_band(shop: Shop) -> None:
    event = CloudEvent.from_dict({
        "specversion": "1.0", "id": "0190b2a4-0000-7000-8000-00000000000a",
        "source": "/shop/customers", "type": REGISTERED,
        "subject": "c-1", "time": "2024-07-01T10:00:00.000+00:00",
        "aggregatetype": "customer", "aggregatesequence": 1, "origin": "customers",
        "data": {"id": "c-1", "email": "zoe@example.com", "name": "Zoe",
                 "created_at": "2024-07-01T10:00:00.000+00:00"}})
    shop.notifications.handle(event)
    shop.notifications.handle(event)
    items, total = shop.notifications.list_notifications("c-1", offset=0, limit=10)
    assert total == 1 and items[0]["recipient"] == "zoe@example.com"
    assert items[0]["kind"] == "welcome"
