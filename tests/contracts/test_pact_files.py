"""Reading pact files: which backends they bind, the requests they make, their hashes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from strangler_contracts.pacts import (
    PACT_DIR,
    PactFile,
    PactFileError,
    combined_hash,
    load_pacts,
    requests_of,
)
from strangler_contracts.verification import pacts_by_backend


def test_the_committed_pacts_are_the_five_contracts() -> None:
    pacts = {p.name: p for p in load_pacts()}
    assert sorted(pacts) == ["catalog-monolith.json", "monolith-catalog.json",
                             "notifications-monolith.json", "storefront-shop-notifications.json",
                             "storefront-shop-products.json"]
    http = pacts["storefront-shop-products.json"]
    assert (http.consumer, http.provider, http.backends) == (
        "storefront", "shop-products", ("monolith", "catalog"))
    assert http.has_http and not http.has_messages
    listing = pacts["storefront-shop-notifications.json"]
    assert (listing.consumer, listing.provider, listing.backends) == (
        "storefront", "shop-notifications", ("monolith", "notifications"))
    assert listing.has_http and not listing.has_messages
    for name in ("catalog-monolith.json", "notifications-monolith.json"):
        events = pacts[name]
        assert (events.backends, events.has_http, events.has_messages) == (
            ("monolith",), False, True), name


def test_the_notification_messages_are_the_causes_and_their_decisions() -> None:
    pact = PactFile.load(PACT_DIR / "notifications-monolith.json")
    bodies = [i["contents"]["content"] for i in pact.interactions]
    types = sorted({body["type"] for body in bodies})
    assert types == ["customers.customer.registered.v1", "notifications.handling.decided.v1",
                     "orders.order.cancelled.v1", "orders.order.placed.v1"]
    decisions = sorted((b["data"]["event_type"], b["data"]["handled_by"]) for b in bodies
                       if b["type"] == "notifications.handling.decided.v1")
    assert decisions == [("customers.customer.registered.v1", "monolith"),
                         ("customers.customer.registered.v1", "notifications"),
                         ("orders.order.cancelled.v1", "notifications"),
                         ("orders.order.placed.v1", "notifications")]
    assert {b["origin"] for b in bodies} == {"monolith"}


def test_http_requests_are_concrete_paths_with_their_query() -> None:
    requests = PactFile.load(PACT_DIR / "storefront-shop-products.json").http_requests()
    assert ("GET", "/api/products?page=1&per_page=20&q=mug") in requests
    assert ("DELETE", "/api/products/0193a1b2-0000-7000-8000-000000000005") in requests
    assert ("POST", "/api/products") in requests
    assert len(requests) == 10
    assert requests.count(("POST", "/api/products")) == 3
    listing = PactFile.load(PACT_DIR / "storefront-shop-notifications.json").http_requests()
    assert listing == (
        ("GET", "/api/notifications?customer_id=0193a1b2-0000-7000-8000-0000000000a1"
                "&page=1&per_page=20"),
        ("GET", "/api/notifications?customer_id=&page=1&per_page=20"),
        ("GET", "/api/notifications?customer_id=0193a1b2-0000-7000-8000-0000000000ff"
                "&page=1&per_page=20"))
    # The event pacts make no requests.
    assert requests_of(load_pacts()) == listing + requests


def test_each_backend_gets_the_http_pact_and_the_events_it_produces() -> None:
    grouped = pacts_by_backend(load_pacts())
    assert {b: [p.name for p in ps] for b, ps in grouped.items()} == {
        "monolith": ["catalog-monolith.json", "notifications-monolith.json",
                     "storefront-shop-notifications.json", "storefront-shop-products.json"],
        "catalog": ["monolith-catalog.json", "storefront-shop-products.json"],
        "notifications": ["storefront-shop-notifications.json"]}
    only = pacts_by_backend(load_pacts(), only=["catalog"])
    assert list(only) == ["catalog"]


def test_hashes_are_of_the_file_bytes_in_name_order(tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    for path, consumer in ((a, "x"), (b, "y")):
        path.write_text(json.dumps({"consumer": {"name": consumer}, "provider": {"name": "p"},
                                    "interactions": []}))
    first, second = PactFile.load(a), PactFile.load(b)
    assert first.sha256 == hashlib.sha256(a.read_bytes()).hexdigest()
    assert combined_hash([first]) == first.sha256
    assert combined_hash([second, first]) == hashlib.sha256(
        a.read_bytes() + b.read_bytes()).hexdigest()


def test_a_file_that_is_not_a_pact_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.json").write_text('{"hello": "world"}')
    with pytest.raises(PactFileError, match=r"notes\.json is not a pact file"):
        load_pacts(tmp_path)
    with pytest.raises(PactFileError, match="no pact files"):
        load_pacts(tmp_path / "empty")
