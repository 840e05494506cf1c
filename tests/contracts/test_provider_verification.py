"""Every backend honours the committed pacts, and a backend that breaks one really fails.

These read the committed files (never what a consumer test just wrote), so they pass or fail
on their own, in any order.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from strangler_contracts.monolith import running_monolith
from strangler_contracts.notifications import running_notifications
from strangler_contracts.pacts import PACT_DIR, PactFile, load_pacts
from strangler_contracts.verification import BackendVerification, verify_backends, verify_pact


def _report(result: BackendVerification) -> str:
    return "\n\n".join(f"--- {run.pact.name} on {run.backend}:\n{run.report}"
                       for run in result.runs if not run.passed)


@pytest.fixture(scope="module")
def verified() -> dict[str, BackendVerification]:
    results = verify_backends(load_pacts(), provider_version="test")
    return {result.backend: result for result in results}


def test_every_backend_honours_every_pact_it_is_named_in(
        verified: dict[str, BackendVerification]) -> None:
    assert sorted(verified) == ["catalog", "monolith", "notifications"]
    for result in verified.values():
        assert result.passed, _report(result)
        assert all(all(ok for _, ok in run.interactions) for run in result.runs)


def test_the_product_api_pact_is_verified_against_both_backends(
        verified: dict[str, BackendVerification]) -> None:
    pacts = {backend: sorted(p.name for p in result.pacts) for backend, result in verified.items()}
    assert pacts == {"monolith": ["catalog-monolith.json", "notifications-monolith.json",
                                  "storefront-shop-notifications.json",
                                  "storefront-shop-products.json"],
                     "catalog": ["monolith-catalog.json", "storefront-shop-products.json"],
                     "notifications": ["storefront-shop-notifications.json"]}
    http = next(run for run in verified["catalog"].runs if run.pact.has_http)
    assert len(http.interactions) == 10
    assert ("GET", "/api/products/0193a1b2-0000-7000-8000-000000000001") in (
        verified["catalog"].requests)


def test_the_notification_api_pact_is_verified_against_the_monolith_and_the_service(
        verified: dict[str, BackendVerification]) -> None:
    listing = ("/api/notifications?customer_id=0193a1b2-0000-7000-8000-0000000000a1"
               "&page=1&per_page=20")
    for backend in ("monolith", "notifications"):
        [run] = [r for r in verified[backend].runs
                 if r.pact.name == "storefront-shop-notifications.json"]
        assert run.passed and len(run.interactions) == 3, backend
        assert ("GET", listing) in verified[backend].requests
    assert verified["notifications"].requests == (
        ("GET", listing), ("GET", "/api/notifications?customer_id=&page=1&per_page=20"),
        ("GET", "/api/notifications?customer_id=0193a1b2-0000-7000-8000-0000000000ff"
                "&page=1&per_page=20"))
    [events] = [r for r in verified["monolith"].runs
                if r.pact.name == "notifications-monolith.json"]
    assert events.passed and len(events.interactions) == 7


def _altered(tmp_path: Path, name: str, change: Callable[[dict[str, Any]], None]) -> PactFile:
    doc = json.loads((PACT_DIR / name).read_text())
    change(doc)
    path = tmp_path / name
    path.write_text(json.dumps(doc, indent=2))
    return PactFile.load(path)


def _interaction(doc: dict[str, Any], description: str) -> dict[str, Any]:
    return next(i for i in doc["interactions"] if i["description"] == description)


def test_a_response_the_backend_does_not_give_fails_the_verification(tmp_path: Path) -> None:
    def expect_410(doc: dict[str, Any]) -> None:
        _interaction(doc, "a request to delete a product")["response"]["status"] = 410

    pact = _altered(tmp_path, "storefront-shop-products.json", expect_410)
    with running_monolith() as monolith:
        run = verify_pact(pact, monolith, "test")
    assert not run.passed
    assert dict(run.interactions)["a request to delete a product"] is False
    assert dict(run.interactions)["a request for one product"] is True
    assert "expected 410 but was 204" in run.output


def test_the_monoliths_events_do_not_pass_for_the_catalog_services() -> None:
    # The reverse-sync pact expects origin "catalog" and source /shop/catalog.
    pact = PactFile.load(PACT_DIR / "monolith-catalog.json")
    with running_monolith() as monolith:
        run = verify_pact(pact, monolith, "test")
    assert not run.passed
    assert "/shop/catalog" in run.output and "/shop/monolith" in run.output


def test_an_unknown_provider_state_is_reported_and_never_raised(tmp_path: Path) -> None:
    def unknown_state(doc: dict[str, Any]) -> None:
        interaction = _interaction(doc, "a request for one product")
        interaction["providerStates"] = [{"name": "a unicorn exists", "params": {}}]
        doc["interactions"] = [interaction]

    pact = _altered(tmp_path, "storefront-shop-products.json", unknown_state)
    with running_monolith() as monolith:
        run = verify_pact(pact, monolith, "test")
    assert not run.passed  # the product was never created: 404, not a retried state change
    assert run.problems == ("unknown provider state 'a unicorn exists'",)


def test_a_decision_without_the_hand_over_names_the_monolith_and_fails(tmp_path: Path) -> None:
    description = ("a notifications.handling.decided.v1 event deciding a "
                   "customers.customer.registered.v1 event for notifications")

    def no_hand_over(doc: dict[str, Any]) -> None:
        interaction = _interaction(doc, description)
        interaction["providerStates"] = []
        doc["interactions"] = [interaction]

    pact = _altered(tmp_path, "notifications-monolith.json", no_hand_over)
    with running_monolith() as monolith:
        run = verify_pact(pact, monolith, "test")
    assert not run.passed
    assert dict(run.interactions) == {description: False}
    assert ("$.data.handled_by -> Expected 'monolith' (String) to be equal to "
            "'notifications'") in run.output


def test_the_services_listing_is_checked_exactly_where_the_pact_is_exact(
        tmp_path: Path) -> None:
    def a_recipient_where_there_is_none(doc: dict[str, Any]) -> None:
        interaction = _interaction(doc, "a request for a customer's notifications")
        interaction["response"]["body"]["content"]["items"][1]["recipient"] = "x@example.com"
        doc["interactions"] = [interaction]

    pact = _altered(tmp_path, "storefront-shop-notifications.json",
                    a_recipient_where_there_is_none)
    with running_notifications() as service:
        run = verify_pact(pact, service, "test")
    assert not run.passed and run.problems == ()
    assert "$.items[1].recipient" in run.output and "x@example.com" in run.output
