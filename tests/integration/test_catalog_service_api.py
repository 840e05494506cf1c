"""The catalog service answers reads exactly as the monolith does, for the same data.

Products are created in the monolith, the service's copy is built from the monolith's own
outbox events through the service's inbox and projection, and then the same URLs are asked of
both: status and body must be byte for byte the same, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select

from extracted.catalog.app import create_app
from extracted.catalog.settings import CatalogSettings
from extracted.catalog.tables import outbox, products
from legacy_monolith.app import Shop
from tests.conftest import outbox_events
from tests.support.catalog_copy import apply_events

NAMES = ["Blue Mug", "Red Mug", "Teapot", "Tea Towel 100% cotton", "Green_Mug", "Spoon",
         "Saucer", "mug tree"]


@pytest.fixture
def service(catalog_engine: Engine) -> FlaskClient:
    return create_app(CatalogSettings(database_url="sqlite://"),
                      engine=catalog_engine).test_client()


def _seed(shop: Shop) -> list[str]:
    ids = []
    for n, name in enumerate(NAMES):
        product = shop.catalog.create_product({
            "sku": f"SKU-{n:03d}", "name": name, "description": f"about {name}",
            "price_cents": 100 * n + 99, "currency": "EUR", "active": n % 3 != 0})
        ids.append(product["id"])
    shop.catalog.update_product(ids[1], {"price_cents": 1234, "name": "Red Mug XL"})
    shop.catalog.update_product(ids[1], {"active": False})
    shop.catalog.delete_product(ids[5])
    return ids


URLS = [
    "/api/products",
    "/api/products?per_page=3",
    "/api/products?per_page=3&page=2",
    "/api/products?per_page=3&page=3",
    "/api/products?page=99",
    "/api/products?q=mug",
    "/api/products?q=MUG&per_page=2&page=2",
    "/api/products?q=100%25",
    "/api/products?q=_",
    "/api/products?q=" + "x" * 101,
    "/api/products?page=0",
    "/api/products?page=abc",
    "/api/products?per_page=101",
    "/api/products?page=1000001",
    "/api/products/no-such-product",
    "/api/nothing-here",
]


def test_every_read_answers_the_same_from_the_monolith_and_the_service(
        shop: Shop, client: FlaskClient, service: FlaskClient, catalog_engine: Engine) -> None:
    ids = _seed(shop)
    admission = apply_events(catalog_engine, outbox_events(shop))
    assert len(admission.fresh) == len(NAMES) + 3 and not admission.stale
    urls = [*URLS, *(f"/api/products/{product_id}" for product_id in ids)]
    for url in urls:
        expected, actual = client.get(url), service.get(url)
        assert (actual.status_code, actual.data) == (expected.status_code, expected.data), url
        assert actual.mimetype == expected.mimetype == "application/json", url
    with catalog_engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(products)) == len(NAMES) - 1


def test_replaying_the_events_changes_nothing(
        shop: Shop, client: FlaskClient, service: FlaskClient, catalog_engine: Engine) -> None:
    _seed(shop)
    events = outbox_events(shop)
    apply_events(catalog_engine, events)
    again = apply_events(catalog_engine, events)
    assert not again.fresh and len(again.duplicates) == len(events)
    assert service.get("/api/products").data == client.get("/api/products").data


def test_writes_are_refused_until_the_service_owns_them(service: FlaskClient,
                                                        catalog_engine: Engine) -> None:
    body = {"sku": "EARLY-1", "name": "Too early", "price_cents": 100, "currency": "EUR"}
    refused = service.post("/api/products", json=body)
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
    assert refused.json["error"]["code"] == "not_write_owner"
    assert service.delete("/api/products/some-id").json["error"]["code"] == "not_write_owner"
    with catalog_engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(products)) == 0
        assert conn.scalar(select(func.count()).select_from(outbox)) == 0
    assert service.get("/api/products/some-id").json == {"error": {
        "code": "product_not_found", "message": "product some-id does not exist"}}


def test_health_readiness_and_metrics(service: FlaskClient) -> None:
    assert service.get("/healthz").json == {"status": "ok"}
    assert service.get("/readyz").json == {"status": "ready"}
    response = service.get("/api/products", headers={"X-Request-ID": "req-42"})
    assert response.headers["X-Request-ID"] == "req-42" and "traceparent" in response.headers
    metrics = service.get("/metrics").get_data(as_text=True)
    assert 'catalog_http_requests_total{method="GET",route="/api/products",status="200"}' in (
        metrics)
    assert "catalog_database_up 1.0" in metrics
