"""The contract gate's verdicts and which changes must pass it: pure logic."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from strangler_proxy.gate import Verification, decide, needs_gate, service_share
from strangler_proxy.routes import Mode, Route

PRODUCTS_READ = Route("products-read", frozenset({"GET", "HEAD"}), "/api/products/{id}",
                      Mode.CANARY, "catalog", 1000)


def verification(passed: bool = True, *requests: tuple[str, str],
                 pact_hash: str = "abc123") -> Verification:
    return Verification(7, "catalog", "1.4.0", pact_hash, passed, tuple(requests),
                        datetime(2026, 11, 28, tzinfo=UTC))


def route(**changes: object) -> Route:
    fields: dict[str, object] = {
        "id": PRODUCTS_READ.id, "methods": PRODUCTS_READ.methods, "path": PRODUCTS_READ.path,
        "mode": PRODUCTS_READ.mode, "service": PRODUCTS_READ.service,
        "percent_bps": PRODUCTS_READ.percent_bps}
    return Route(**{**fields, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", [Mode.LEGACY, Mode.SHADOW])
def test_modes_without_user_traffic_to_the_service_pass_unverified(mode: Mode) -> None:
    decision = decide(route(mode=mode, service=None if mode is Mode.LEGACY else "catalog",
                            percent_bps=0), None)
    assert decision.allowed
    assert decision.reason == f"mode {mode} sends no user traffic to a service"


def test_no_verification_is_refused() -> None:
    decision = decide(PRODUCTS_READ, None)
    assert not decision.allowed
    assert decision.reason == "no verification recorded for catalog"


def test_a_failed_latest_verification_is_refused_naming_version_and_pact() -> None:
    decision = decide(PRODUCTS_READ, verification(False, ("GET", "/api/products/01J")))
    assert not decision.allowed
    assert decision.reason == "latest verification of catalog (version 1.4.0, pact abc123) failed"


def test_a_long_pact_hash_is_shortened_like_git() -> None:
    decision = decide(PRODUCTS_READ, verification(False, pact_hash="f" * 64))
    assert "pact ffffffffffff)" in decision.reason


@pytest.mark.parametrize("requests", [
    (),
    (("GET", "/api/products"),),              # the list, not one product
    (("PUT", "/api/products/01J"),),          # another method
    (("GET", "/api/products/01J/stock"),),    # one segment too many
    (("GET", "/api/orders/01J"),),
])
def test_a_passed_verification_must_cover_a_request_of_the_route(
        requests: tuple[tuple[str, str], ...]) -> None:
    decision = decide(PRODUCTS_READ, verification(True, *requests))
    assert not decision.allowed
    assert decision.reason == ("catalog's verified pacts cover no request of route "
                               "products-read (GET,HEAD /api/products/{id})")


def test_a_covering_passed_verification_is_allowed_and_says_what_it_covers() -> None:
    decision = decide(PRODUCTS_READ, verification(
        True, ("GET", "/api/products"), ("GET", "/api/products/01J?fields=name"),
        ("HEAD", "/api/products/02K")))
    assert decision.allowed
    assert decision.reason == ("verification of catalog (version 1.4.0, pact abc123) passed "
                               "and covers GET /api/products/01J?fields=name and 1 more")


def test_a_verification_of_another_provider_is_a_programming_error() -> None:
    other = Verification(1, "notifications", "1", "h", True, (), datetime.now(UTC))
    with pytest.raises(ValueError, match="notifications"):
        decide(PRODUCTS_READ, other)


@pytest.mark.parametrize(("before", "after", "gated"), [
    (None, route(), True),                                          # new canary
    (None, route(mode=Mode.LEGACY, service=None, percent_bps=0), False),
    (route(mode=Mode.SHADOW), route(), True),                       # shadow -> canary
    (route(), route(percent_bps=5000), True),                       # percent rises
    (route(), route(percent_bps=500), False),                       # backing off
    (route(), route(mode=Mode.EXTRACTED), True),                    # canary -> extracted
    (route(mode=Mode.EXTRACTED), route(), False),                   # extracted -> canary
    (route(), route(service="notifications"), True),                # another service
    (route(), route(path="/api/products/{id}/stock"), True),        # other requests
    (route(), route(methods=frozenset({"GET", "HEAD", "PUT"})), True),
    (route(), route(sticky_key="header:X-Customer-ID"), False),     # same traffic
    (route(), route(mode=Mode.SHADOW), False),
])
def test_which_changes_must_pass_the_gate(before: Route | None, after: Route,
                                          gated: bool) -> None:
    assert needs_gate(before, after) is gated


def test_service_share_counts_only_user_traffic() -> None:
    assert service_share(None) == 0
    assert service_share(route(mode=Mode.SHADOW)) == 0
    assert service_share(route(percent_bps=2500)) == 2500
    assert service_share(route(mode=Mode.EXTRACTED, percent_bps=0)) == 10_000
