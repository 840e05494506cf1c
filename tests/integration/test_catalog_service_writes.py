"""The catalog service's write half: the monolith's behaviour, its own events, reverse sync.

The same write requests go to the monolith and to the service (once it owns the writes):
statuses, error bodies and product fields must agree. The service's outbox events must match
the contracts and, applied through the monolith's ``monolith`` consumer, leave the monolith's
products equal to the service's. SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from extracted.catalog.app import create_app
from extracted.catalog.settings import CatalogSettings
from extracted.catalog.states import ProductCopyStates
from extracted.catalog.tables import outbox
from extracted.catalog.writes import claim_writes
from legacy_monolith.app import Shop
from legacy_monolith.catalog.snapshots import ProductStates
from legacy_monolith.catalog.sync import CONSUMER, HANDLERS
from legacy_monolith.platform.database import inbox
from legacy_monolith.schema import outbox as monolith_outbox
from strangler_messaging import CloudEvent
from strangler_messaging.inbox import Inbox
from strangler_messaging.outbox import row_to_event
from strangler_messaging.reconcile import compare
from tests.support.catalog_copy import apply_events
from tests.support.contracts import event_validator

VOLATILE = ("id", "created_at", "updated_at")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def service(catalog_engine: Engine) -> FlaskClient:
    claim_writes(catalog_engine)
    return create_app(CatalogSettings(database_url="sqlite://"),
                      engine=catalog_engine).test_client()


def _script(client: FlaskClient) -> list[tuple[int, Any]]:
    """A run of writes, each answer reduced to what must not differ between the sides."""
    answers = []

    def record(response: Any) -> Any:
        body = response.get_json(silent=True)
        if isinstance(body, dict) and "error" not in body:
            shown = {k: v for k, v in body.items() if k not in VOLATILE}
        else:  # ids differ between the sides, and error messages name them
            shown = json.loads(_UUID.sub("<id>", json.dumps(body)))
        answers.append((response.status_code, shown))
        return body

    created = record(client.post("/api/products", json={
        "sku": "MUG-1", "name": "Mug", "price_cents": 900, "currency": "EUR"}))
    other = record(client.post("/api/products", json={
        "sku": "POT-1", "name": "Pot", "description": "clay", "price_cents": 2500,
        "currency": "EUR", "active": False}))
    record(client.post("/api/products", json={
        "sku": "MUG-1", "name": "Again", "price_cents": 1, "currency": "EUR"}))
    record(client.post("/api/products", json={"sku": "", "price_cents": -1, "extra": 1}))
    record(client.post("/api/products", data="{not json", content_type="application/json"))
    record(client.put(f"/api/products/{created['id']}", json={
        "sku": "MUG-2", "name": "Big mug", "description": "", "price_cents": 1100,
        "currency": "EUR", "active": True}))
    record(client.patch(f"/api/products/{created['id']}", json={"name": "Big mug"}))
    record(client.patch(f"/api/products/{created['id']}", json={"price_cents": 1200}))
    record(client.patch(f"/api/products/{created['id']}", json={"sku": "POT-1"}))
    record(client.patch(f"/api/products/{created['id']}", json={"name": None}))
    record(client.patch("/api/products/nope", json={"name": "x"}))
    record(client.delete(f"/api/products/{other['id']}"))
    record(client.delete(f"/api/products/{other['id']}"))
    record(client.get(f"/api/products/{created['id']}"))
    return answers


def _events(engine: Engine) -> list[CloudEvent]:
    with engine.connect() as conn:
        return [row_to_event(r) for r in conn.execute(outbox.select().order_by(
            outbox.c.position))]


def _apply_to_monolith(shop: Shop, events: list[CloudEvent]) -> None:
    with Session(shop.engine) as session, session.begin():
        admission = Inbox(inbox, CONSUMER).admit(session, events)
        assert not admission.stale and not admission.duplicates
        for event in admission.fresh:
            HANDLERS[event.type](session, event)


def test_writes_answer_exactly_as_the_monolith_does(client: FlaskClient,
                                                    service: FlaskClient) -> None:
    expected, actual = _script(client), _script(service)
    assert [status for status, _ in actual] == [201, 201, 409, 422, 400, 200, 200, 200, 409,
                                                422, 404, 204, 404, 200]
    assert actual == expected


def test_the_service_publishes_the_monolith_event_types_under_its_own_origin(
        service: FlaskClient, catalog_engine: Engine) -> None:
    _script(service)
    events = _events(catalog_engine)
    assert [(e.type.split(".")[2], e.aggregatesequence) for e in events] == [
        ("created", 1), ("created", 1), ("updated", 2), ("updated", 3), ("deleted", 2)]
    for event in events:
        assert (event.origin, event.source) == ("catalog", "/shop/catalog")
        event_validator(event.type).validate(event)


def test_reverse_sync_makes_the_monolith_equal_to_the_service(
        shop: Shop, client: FlaskClient, service: FlaskClient, catalog_engine: Engine) -> None:
    seeded = shop.catalog.create_product({"sku": "OLD-1", "name": "Old", "description": "",
                                          "price_cents": 10, "currency": "EUR", "active": True})
    apply_events(catalog_engine, [row_to_event(r) for r in _monolith_outbox(shop)])
    claim_writes(catalog_engine)
    service.patch(f"/api/products/{seeded['id']}", json={"price_cents": 20})
    _script(service)
    _apply_to_monolith(shop, _events(catalog_engine))

    drift = compare(ProductStates(shop.engine), ProductCopyStates(catalog_engine), chunk=4)
    assert drift.total == 0 and drift.compared == 2, drift
    for url in ["/api/products", f"/api/products/{seeded['id']}"]:
        assert client.get(url).data == service.get(url).data
    assert client.get(f"/api/products/{seeded['id']}").json["price_cents"] == 20


def test_reverse_sync_never_moves_a_product_backwards(
        shop: Shop, client: FlaskClient, service: FlaskClient, catalog_engine: Engine) -> None:
    created = service.post("/api/products", json={
        "sku": "B-1", "name": "B", "price_cents": 1, "currency": "EUR"}).json
    for price in (2, 3):
        service.patch(f"/api/products/{created['id']}", json={"price_cents": price})
    first, second, third = _events(catalog_engine)
    _apply_to_monolith(shop, [first, third])
    with Session(shop.engine) as session, session.begin():  # inbox skipped, guard still holds
        HANDLERS[second.type](session, second)
    assert client.get(f"/api/products/{created['id']}").json["price_cents"] == 3


def test_a_monolith_write_after_the_hand_over_is_refused_and_changes_nothing(
        shop: Shop, client: FlaskClient) -> None:
    product = shop.catalog.create_product({"sku": "F-1", "name": "Fenced", "description": "",
                                           "price_cents": 5, "currency": "EUR", "active": True})
    ownership = shop.catalog_ownership
    with shop.engine.begin() as conn:
        ownership.hand_over(conn, to="catalog", epoch=1)
    answer = client.patch(f"/api/products/{product['id']}", json={"price_cents": 6})
    assert answer.status_code == 503 and answer.json["error"]["code"] == "not_write_owner"
    assert client.post("/api/products", json={"sku": "F-2", "name": "x", "price_cents": 1,
                                              "currency": "EUR"}).status_code == 503
    assert client.get(f"/api/products/{product['id']}").json["price_cents"] == 5
    with shop.engine.connect() as conn:
        assert len(_monolith_outbox(shop)) == 1 and ownership.read(conn).epoch == 1


def _monolith_outbox(shop: Shop) -> list[Any]:
    with shop.engine.connect() as conn:
        return list(conn.execute(select(monolith_outbox).order_by(monolith_outbox.c.position)))
