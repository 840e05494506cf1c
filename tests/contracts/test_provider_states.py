"""The provider state handler: rows as the states say, cleared after, never an exception."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from strangler_contracts.states import (
    FIRST_CREATED_AT,
    NO_NOTIFICATION,
    NO_PRODUCT,
    NOTIFICATION_EXISTS,
    NOTIFICATIONS_OWNER,
    PRODUCT_EXISTS,
    StateHandler,
    notification_states,
    product_states,
    state_params,
)


class FakeStore:
    def __init__(self, fail: bool = False) -> None:
        self.rows: list[dict[str, Any]] = []
        self.fail = fail
        self.cleared = 0

    def insert(self, row: Mapping[str, Any]) -> None:
        if self.fail:
            raise RuntimeError("database is locked")
        self.rows.append(dict(row))

    def clear(self) -> None:
        self.rows.clear()
        self.cleared += 1


def _products(store: FakeStore) -> StateHandler:
    return product_states(StateHandler(store.clear), store.insert)


def test_products_are_stored_with_the_given_ids_in_listing_order() -> None:
    store = FakeStore()
    handler = _products(store)
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


def test_notifications_are_stored_as_given_with_a_null_recipient_by_default() -> None:
    store = FakeStore()
    handler = notification_states(StateHandler(store.clear), store.insert)
    handler(NOTIFICATION_EXISTS, "setup", {"id": "n-1", "customer_id": "c-1",
                                           "recipient": "ann@example.com"})
    handler(NOTIFICATION_EXISTS, "setup", {"id": "n-2", "customer_id": "c-1",
                                           "kind": "order_placed", "subject": "Order 7"})
    first, second = store.rows
    assert (first["id"], first["kind"], first["recipient"]) == ("n-1", "welcome",
                                                                "ann@example.com")
    assert (second["kind"], second["recipient"], second["subject"]) == (
        "order_placed", None, "Order 7")
    assert set(first) == {"id", "customer_id", "kind", "recipient", "subject", "body",
                          "created_at"}
    assert first["subject"] and first["body"]  # the API's schema wants them non-empty
    assert second["created_at"] - first["created_at"] == timedelta(seconds=1)
    handler(NO_NOTIFICATION, "setup", {"customer_id": "c-9"})
    assert len(store.rows) == 2 and handler.problems == []


def test_one_handler_serves_several_kinds_of_state_and_custom_ones() -> None:
    products, notifications, owners = FakeStore(), FakeStore(), []
    handler = notification_states(_products(products), notifications.insert).setting(
        NOTIFICATIONS_OWNER, lambda params: owners.append(params["owner"]))
    handler(PRODUCT_EXISTS, "setup", {"id": "p-1", "sku": "MUG-001"})
    handler(NOTIFICATION_EXISTS, "setup", {"id": "n-1", "customer_id": "c-1"})
    handler(NOTIFICATIONS_OWNER, "setup", {"owner": "notifications"})
    assert (len(products.rows), len(notifications.rows), owners) == (1, 1, ["notifications"])
    assert notifications.rows[0]["created_at"] == FIRST_CREATED_AT + timedelta(seconds=1)
    assert handler.states == {PRODUCT_EXISTS, NO_PRODUCT, NOTIFICATION_EXISTS, NO_NOTIFICATION,
                              NOTIFICATIONS_OWNER}
    handler(NOTIFICATIONS_OWNER, "teardown", {"owner": "notifications"})
    assert products.cleared == 1 and products.rows == []  # the one teardown given
    assert handler.problems == []


def test_states_that_need_nothing_store_nothing() -> None:
    store = FakeStore()
    handler = _products(store)
    handler(NO_PRODUCT, "setup", {"id": "p-9"})
    handler("", "setup", None)
    assert store.rows == [] and handler.problems == []


def test_failures_and_unknown_states_are_kept_not_raised() -> None:
    handler = _products(FakeStore(fail=True))
    handler(PRODUCT_EXISTS, "setup", {"id": "p-1", "sku": "MUG-001"})
    handler("a unicorn exists", "setup", {})
    handler(PRODUCT_EXISTS, "setup", {"sku": "no id"})
    handler(NOTIFICATION_EXISTS, "setup", {"id": "n-1"})  # not a state of this backend
    assert handler.problems[0] == ("state 'a product exists' (setup): RuntimeError: "
                                   "database is locked")
    assert handler.problems[1] == "unknown provider state 'a unicorn exists'"
    assert handler.problems[2].startswith("state 'a product exists' (setup): KeyError")
    assert handler.problems[3] == "unknown provider state 'a notification exists'"


def test_a_failing_teardown_is_kept_not_raised() -> None:
    def broken() -> None:
        raise RuntimeError("disk full")

    handler = StateHandler(broken)
    handler("", "teardown", None)
    assert handler.problems == ["state '' (teardown): RuntimeError: disk full"]


def test_a_message_producer_finds_its_state_parameters() -> None:
    metadata = {"providerStates": [{"name": NO_PRODUCT, "params": {"sku": "LAMP-001"}},
                                   {"name": PRODUCT_EXISTS, "params": {"id": "p-1"}}]}
    assert state_params(metadata, PRODUCT_EXISTS) == {"id": "p-1"}
    assert state_params(metadata, "a unicorn exists") == {}
    assert state_params(None, NO_PRODUCT) == {}
