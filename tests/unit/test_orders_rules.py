"""Order rules without a database: pricing from product snapshots, each refusal, cancelling."""

from __future__ import annotations

from typing import Any

import pytest

from legacy_monolith.orders.models import CANCELLED, PLACED, Order
from legacy_monolith.platform.errors import Conflict, RuleViolation


def product(pid: str, sku: str, price: int, currency: str = "EUR",
            active: bool = True) -> dict[str, Any]:
    return {"id": pid, "sku": sku, "name": f"{sku} name", "description": "", "currency": currency,
            "price_cents": price, "active": active}


PRODUCTS = {
    "p-apple": product("p-apple", "APL-1", 120),
    "p-pear": product("p-pear", "PER-1", 75),
    "p-old": product("p-old", "OLD-1", 10, active=False),
    "p-usd": product("p-usd", "USD-1", 99, currency="USD"),
}


def test_place_prices_every_line_and_totals_them() -> None:
    order = Order.place("c-1", [("p-apple", 3), ("p-pear", 2)], PRODUCTS)
    assert (order.customer_id, order.status, order.version) == ("c-1", PLACED, 1)
    assert (order.total_cents, order.currency) == (510, "EUR")
    assert [line.snapshot() for line in order.lines] == [
        {"product_id": "p-apple", "sku": "APL-1", "name": "APL-1 name", "unit_price_cents": 120,
         "quantity": 3, "line_total_cents": 360},
        {"product_id": "p-pear", "sku": "PER-1", "name": "PER-1 name", "unit_price_cents": 75,
         "quantity": 2, "line_total_cents": 150},
    ]
    assert [line.position for line in order.lines] == [1, 2]
    assert order.created_at == order.updated_at


def test_the_order_keeps_its_own_copy_of_name_and_price() -> None:
    products = {"p-apple": dict(PRODUCTS["p-apple"])}
    order = Order.place("c-1", [("p-apple", 1)], products)
    products["p-apple"].update(price_cents=999, name="Renamed", sku="NEW-1")
    line = order.lines[0]
    assert (line.unit_price_cents, line.name, line.sku) == (120, "APL-1 name", "APL-1")
    assert order.total_cents == 120


def test_snapshot_is_the_public_shape() -> None:
    order = Order.place("c-1", [("p-pear", 4)], PRODUCTS)
    snapshot = order.snapshot()
    assert set(snapshot) == {"id", "customer_id", "status", "lines", "total_cents", "currency",
                             "created_at", "updated_at"}
    assert snapshot["id"] == order.id and snapshot["total_cents"] == 300
    assert snapshot["created_at"].endswith("+00:00")


def test_stock_lines_name_skus_and_units() -> None:
    order = Order.place("c-1", [("p-pear", 4), ("p-apple", 1)], PRODUCTS)
    assert order.stock_lines() == [("PER-1", 4), ("APL-1", 1)]


@pytest.mark.parametrize(("lines", "code"), [
    ([("p-apple", 1), ("p-missing", 1)], "unknown_product"),
    ([("p-apple", 1), ("p-old", 1)], "product_inactive"),
    ([("p-apple", 1), ("p-pear", 1), ("p-apple", 2)], "duplicate_product"),
    ([("p-apple", 1), ("p-usd", 1)], "mixed_currency"),
])
def test_each_refusal_has_its_code(lines: list[tuple[str, int]], code: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        Order.place("c-1", lines, PRODUCTS)
    assert caught.value.code == code


def test_one_foreign_currency_order_is_fine() -> None:
    order = Order.place("c-1", [("p-usd", 2)], PRODUCTS)
    assert (order.currency, order.total_cents) == ("USD", 198)


def test_an_order_without_lines_is_refused() -> None:
    with pytest.raises(RuleViolation) as raised:
        Order.place("c-1", [], PRODUCTS)
    assert raised.value.code == "empty_order"


def test_cancel_marks_the_order_and_bumps_the_version() -> None:
    order = Order.place("c-1", [("p-apple", 1)], PRODUCTS)
    order.cancel()
    assert (order.status, order.version) == (CANCELLED, 2)
    assert order.updated_at >= order.created_at
    assert order.snapshot()["status"] == "cancelled"


def test_cancelling_twice_is_a_conflict_and_changes_nothing() -> None:
    order = Order.place("c-1", [("p-apple", 1)], PRODUCTS)
    order.cancel()
    updated_at = order.updated_at
    with pytest.raises(Conflict) as caught:
        order.cancel()
    assert caught.value.code == "order_not_cancellable"
    assert (order.status, order.version, order.updated_at) == (CANCELLED, 2, updated_at)
