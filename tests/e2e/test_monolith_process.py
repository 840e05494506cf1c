"""The monolith as a real gunicorn process, on SQLite and PostgreSQL, over real sockets."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from legacy_monolith.schema import outbox
from strangler_cli.databases import DATABASES, upgrade
from strangler_messaging.db import make_engine
from tests.support.processes import RunningProcess, free_port, running


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'monolith.db'}"
    else:
        url = request.getfixturevalue("fresh_postgres_url")
    upgrade(DATABASES["monolith"], url)
    return url


@pytest.fixture
def monolith(database_url: str, tmp_path: Path) -> Iterator[RunningProcess]:
    port = free_port()
    with running(["run", "monolith", "--port", str(port), "--workers", "2", "--threads", "4"],
                 port=port, env={"MONOLITH_DATABASE_URL": database_url},
                 log=tmp_path / "monolith.log") as process:
        yield process


def _count_outbox(url: str, event_type: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            query = select(func.count()).select_from(outbox).where(outbox.c.type == event_type)
            return int(conn.scalar(query) or 0)
    finally:
        engine.dispose()


def test_concurrent_orders_never_oversell(monolith: RunningProcess, database_url: str) -> None:
    """40 clients race for 10 units across two worker processes: exactly 10 orders win."""
    api = httpx.Client(base_url=monolith.base_url, timeout=30)
    product = api.post("/api/products", json={"sku": "RACE-1", "name": "Scarce",
                                              "price_cents": 500, "currency": "EUR"}).json()
    assert api.put("/api/inventory/RACE-1", json={"quantity": 10}).status_code == 200
    customers = [api.post("/api/customers", json={"email": f"c{n}@race.test", "name": f"C{n}"})
                 .json()["id"] for n in range(40)]

    def order(customer_id: str) -> int:
        with httpx.Client(base_url=monolith.base_url, timeout=30) as own:
            return own.post("/api/orders", json={
                "customer_id": customer_id,
                "lines": [{"product_id": product["id"], "quantity": 1}]}).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(order, customers))

    assert sorted(set(statuses)) == [201, 409]
    assert statuses.count(201) == 10
    assert api.get("/api/inventory/RACE-1").json()["quantity"] == 0
    assert _count_outbox(database_url, "orders.order.placed.v1") == 10
    reserved = _count_outbox(database_url, "inventory.stock.changed.v1")
    assert reserved == 11  # the stock count, then one reservation per order


def test_headers_and_errors_over_the_wire(monolith: RunningProcess) -> None:
    api = httpx.Client(base_url=monolith.base_url, timeout=10)
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    response = api.get("/api/products", headers={"X-Request-ID": "req-42", "traceparent": parent})
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "req-42"
    assert response.headers["traceparent"].split("-")[1] == "0af7651916cd43dd8448eb211c80319c"
    assert response.headers["traceparent"] != parent
    bad = api.post("/api/products", content=b'{"sku": ',
                   headers={"Content-Type": "application/json"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "malformed_json"


def test_sigterm_stops_the_server_cleanly(database_url: str, tmp_path: Path) -> None:
    port = free_port()
    with running(["run", "monolith", "--port", str(port)], port=port,
                 env={"MONOLITH_DATABASE_URL": database_url},
                 log=tmp_path / "monolith.log") as process:
        pass
    assert process.process.returncode == 0
