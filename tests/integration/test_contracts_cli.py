"""``strangler contracts verify`` on a migrated proxy database: what it records, and what the
contract gate then decides about sending product reads to the catalog service and notification
reads to the notifications service."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine

from strangler_cli.main import cli
from strangler_contracts.pacts import PACT_DIR, combined_hash, load_pacts
from strangler_contracts.version import provider_version
from strangler_proxy.gate import VerificationStore
from strangler_proxy.routes import Mode, Route
from tests.support.proxy_admin import migrated_sqlite, products_read, proxy_engine

PRODUCTS_READ = products_read(mode=Mode.EXTRACTED, service="catalog")
"""{"id": "products-read", "methods": ["GET", "HEAD"], "path": "/api/products/{id}",
"mode": "extracted", "service": "catalog"}"""
NOTIFICATIONS_READ = Route.from_dict({
    "id": "notifications-read", "methods": ["GET", "HEAD"], "path": "/api/notifications",
    "mode": "extracted", "service": "notifications"})
LISTING = "/api/notifications?customer_id=0193a1b2-0000-7000-8000-0000000000a1&page=1&per_page=20"


@pytest.fixture
def proxy_url(tmp_path: Path) -> str:
    return migrated_sqlite(tmp_path)


@pytest.fixture
def store(proxy_url: str) -> Iterator[VerificationStore]:
    engine: Engine = proxy_engine(proxy_url)
    yield VerificationStore(engine)
    engine.dispose()


def _verify(proxy_url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["contracts", "verify", *args],
                              env={"PROXY_DATABASE_URL": proxy_url,
                                   "PACT_BROKER_BASE_URL": ""})


def test_passing_verifications_are_recorded_per_backend_and_open_the_gate(
        proxy_url: str, store: VerificationStore) -> None:
    assert not store.check(PRODUCTS_READ).allowed  # nothing verified yet
    assert store.check(NOTIFICATIONS_READ).reason == "no verification recorded for notifications"

    result = _verify(proxy_url)

    assert result.exit_code == 0, result.output
    for backend in ("monolith", "catalog", "notifications"):
        assert re.search(rf"^  {backend} +passed  \(pacts ", result.output, re.M), result.output
    pacts = {p.name: p for p in load_pacts()}
    verified = {"monolith": ["catalog-monolith.json", "notifications-monolith.json",
                             "storefront-shop-notifications.json",
                             "storefront-shop-products.json"],
                "catalog": ["monolith-catalog.json", "storefront-shop-products.json"],
                "notifications": ["storefront-shop-notifications.json"]}
    for backend, names in verified.items():
        latest = store.latest(backend)
        assert latest is not None and latest.passed, backend
        assert latest.provider_version == provider_version()
        assert latest.pact_hash == combined_hash([pacts[name] for name in names]), backend
    products = ("GET", "/api/products/0193a1b2-0000-7000-8000-000000000001")
    for backend, count in (("monolith", 13), ("catalog", 10), ("notifications", 3)):
        latest = store.latest(backend)
        assert latest is not None and len(latest.requests) == count, backend
        assert (products in latest.requests) == (backend != "notifications"), backend
        assert (("GET", LISTING) in latest.requests) == (backend != "catalog"), backend
    decision = store.check(PRODUCTS_READ)
    assert decision.allowed, decision.reason
    assert "covers GET /api/products/" in decision.reason
    decision = store.check(NOTIFICATIONS_READ)
    assert decision.allowed, decision.reason
    assert decision.reason.startswith("verification of notifications (version ")
    assert f"covers GET {LISTING} and 2 more" in decision.reason


def test_a_broken_pact_records_a_failure_and_closes_the_gate(
        proxy_url: str, store: VerificationStore, tmp_path: Path) -> None:
    assert _verify(proxy_url, "--provider", "catalog").exit_code == 0
    assert store.check(PRODUCTS_READ).allowed

    broken = tmp_path / "pacts"
    shutil.copytree(PACT_DIR, broken)
    http = broken / "storefront-shop-products.json"
    doc = json.loads(http.read_text())
    [read] = [i for i in doc["interactions"] if i["description"] == "a request for one product"]
    read["response"]["status"] = 203  # what neither backend answers
    http.write_text(json.dumps(doc, indent=2))

    result = _verify(proxy_url, "--pact-dir", str(broken), "--provider", "catalog")

    assert result.exit_code == 1, result.output
    assert re.search(r"^  catalog +FAILED", result.output, re.M), result.output
    assert "failed: a request for one product" in result.output
    latest = store.latest("catalog")
    assert latest is not None and not latest.passed
    # --provider catalog verified nothing else.
    assert store.latest("monolith") is None and store.latest("notifications") is None
    decision = store.check(PRODUCTS_READ)
    assert not decision.allowed
    assert decision.reason.startswith("latest verification of catalog") and "failed" in (
        decision.reason)


def test_an_unmigrated_proxy_database_is_refused_before_verifying(tmp_path: Path) -> None:
    result = _verify(f"sqlite:///{tmp_path / 'empty.db'}")
    assert result.exit_code == 1
    assert "run `strangler db upgrade proxy`" in result.output


def test_the_notifications_service_alone_is_verified_against_the_listing_pact(
        proxy_url: str, store: VerificationStore, tmp_path: Path) -> None:
    broken = tmp_path / "pacts"
    shutil.copytree(PACT_DIR, broken)
    listing = broken / "storefront-shop-notifications.json"
    doc = json.loads(listing.read_text())
    [empty] = [i for i in doc["interactions"]
               if i["description"] == "a request for notifications without a customer id"]
    empty["response"]["status"] = 422  # the API says 400 invalid_query
    listing.write_text(json.dumps(doc, indent=2))

    result = _verify(proxy_url, "--pact-dir", str(broken), "--provider", "notifications")

    assert result.exit_code == 1, result.output
    assert re.search(r"^  notifications +FAILED", result.output, re.M), result.output
    assert "failed: a request for notifications without a customer id" in result.output
    latest = store.latest("notifications")
    assert latest is not None and not latest.passed and len(latest.requests) == 3
    assert store.latest("monolith") is None and store.latest("catalog") is None
    decision = store.check(NOTIFICATIONS_READ)
    assert not decision.allowed and "failed" in decision.reason
