"""Product rules without a database: creation, changes, versions and price checks."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from legacy_monolith.catalog.models import Product
from legacy_monolith.platform.errors import RuleViolation

APPLE: dict[str, Any] = {"sku": "APL-1", "name": "Apple", "description": "Crisp",
                         "price_cents": 120, "currency": "EUR", "active": True}


def apple(**overrides: Any) -> Product:
    return Product.create(**{**APPLE, **overrides})


def state(product: Product) -> dict[str, Any]:
    return {**product.snapshot(), "version": product.version}


def test_create_gives_version_1_and_equal_timestamps() -> None:
    product = apple()
    assert product.version == 1
    assert uuid.UUID(product.id).version == 7
    assert product.created_at == product.updated_at
    assert product.created_at.utcoffset() is not None
    assert product.created_at.microsecond % 1000 == 0


def test_snapshot_is_the_public_shape() -> None:
    snapshot = apple().snapshot()
    assert set(snapshot) == {"id", *APPLE, "created_at", "updated_at"}
    assert {k: snapshot[k] for k in APPLE} == APPLE
    assert snapshot["created_at"].endswith("+00:00")
    assert len(snapshot["created_at"].split(".")[1]) == len("123+00:00")


def test_a_free_product_is_allowed() -> None:
    assert apple(price_cents=0).price_cents == 0


@pytest.mark.parametrize(("overrides", "code"), [
    ({"price_cents": -1}, "invalid_price"),
    ({"currency": "eur"}, "invalid_currency"),
    ({"currency": "EURO"}, "invalid_currency"),
    ({"currency": "E1R"}, "invalid_currency"),
    ({"currency": ""}, "invalid_currency"),
])
def test_create_rejects_an_invalid_price(overrides: dict[str, Any], code: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        apple(**overrides)
    assert caught.value.code == code


def test_a_real_change_bumps_the_version_once() -> None:
    product = apple()
    created_at = product.created_at
    assert product.apply({"price_cents": 150, "name": "Red apple", "sku": "APL-1"}) is True
    assert (product.price_cents, product.name, product.version) == (150, "Red apple", 2)
    assert product.updated_at >= created_at and product.created_at == created_at


def test_a_change_to_the_same_values_is_no_change() -> None:
    product = apple()
    before = state(product)
    assert product.apply(dict(APPLE)) is False
    assert product.apply({}) is False
    assert state(product) == before


def test_successive_changes_count_up() -> None:
    product = apple()
    product.apply({"active": False})
    product.apply({"active": False})
    product.apply({"description": ""})
    assert product.version == 3


@pytest.mark.parametrize("changes", [
    {"colour": "red"}, {"id": "other"}, {"version": 9}, {"created_at": None},
    {"name": "Pear", "colour": "green"},
])
def test_an_unknown_or_immutable_field_is_refused_and_nothing_changes(
        changes: dict[str, Any]) -> None:
    product = apple()
    before = state(product)
    with pytest.raises(RuleViolation) as caught:
        product.apply(changes)
    assert caught.value.code == "rule_violation"
    assert state(product) == before


@pytest.mark.parametrize(("changes", "code"), [
    ({"name": "Pear", "price_cents": -5}, "invalid_price"),
    ({"currency": "usd"}, "invalid_currency"),
    ({"price_cents": 100, "currency": "US"}, "invalid_currency"),
])
def test_an_invalid_price_change_is_refused_and_nothing_changes(
        changes: dict[str, Any], code: str) -> None:
    product = apple()
    before = state(product)
    with pytest.raises(RuleViolation) as caught:
        product.apply(changes)
    assert caught.value.code == code
    assert state(product) == before
