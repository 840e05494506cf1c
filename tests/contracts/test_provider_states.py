"""The provider state handler: rows as the states say, cleared after, never an exception."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from strangler_contracts.states import (
    FIRST_CREATED_AT,
    NO_PRODUCT,
    PRODUCT_EXISTS,
    ProductStateHandler,
    state_params,
)


class FakeStore:
    def __init__(self, fail: bool = False) -> None:
        self.rows: list[dict[str, Any]] = []
        self.fail = fail

    def insert(self, row: Mapping[str, Any]) -> None:
        if self.fail:
            raise RuntimeError("database is locked")
        self.rows.append(dict(row))

    def clear(self) -> None:
        self.rows.clear()


def test_products_are_stored_with_the_given_ids_in_listing_order() -> None:
    store = FakeStore()
    handler = ProductStateHandler(store)
    handler(PRODUCT_EXISTS, "setup", {"id": "p-1", "sku": "MUG-001", "price_cents": 250})
    handler(PRODUCT_EXISTS, "setup", {"id": "p-2", "sku": "TEA-001", "name": "Teapot"})
    assert [(r["id"], r["sku"], r["version"]) for r in store.rows] == [
        ("p-1", "MUG-001", 1), ("p-2", "TEA-001", 1)]
    assert store.rows[0]["price_cents"] == 250 and store.rows[1]["name"] == "Teapot"
    assert store.rows[1]["created_at"] - store.rows[0]["created_at"] == timedelta(seconds=1)
    handler(PRODUCT_EXISTS, "teardown", {"id": "p-1", "sku": "MUG-001"})
    assert store.rows == []
    handler(PRODUCT_EXISTS, "setup", {"id": "p-3", "sku": "X"})
    assert store.rows[0]["created_at"] == FIRST_CREATED_AT  # positions restart per interaction


def test_states_that_need_nothing_store_nothing() -> None:
    store = FakeStore()
    handler = ProductStateHandler(store)
    handler(NO_PRODUCT, "setup", {"id": "p-9"})
    handler("", "setup", None)
    assert store.rows == [] and handler.problems == []


def test_failures_and_unknown_states_are_kept_not_raised() -> None:
    handler = ProductStateHandler(FakeStore(fail=True))
    handler(PRODUCT_EXISTS, "setup", {"id": "p-1", "sku": "MUG-001"})
    handler("a unicorn exists", "setup", {})
    handler(PRODUCT_EXISTS, "setup", {"sku": "no id"})
    assert handler.problems[0] == ("state 'a product exists' (setup): RuntimeError: "
                                   "database is locked")
    assert handler.problems[1] == "unknown provider state 'a unicorn exists'"
    assert handler.problems[2].startswith("state 'a product exists' (setup): KeyError")


def test_a_message_producer_finds_its_state_parameters() -> None:
    metadata = {"providerStates": [{"name": NO_PRODUCT, "params": {"sku": "LAMP-001"}},
                                   {"name": PRODUCT_EXISTS, "params": {"id": "p-1"}}]}
    assert state_params(metadata, PRODUCT_EXISTS) == {"id": "p-1"}
    assert state_params(metadata, "a unicorn exists") == {}
    assert state_params(None, NO_PRODUCT) == {}
