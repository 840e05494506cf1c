"""Route validation, matching (most specific wins) and canary bucketing: pure logic."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strangler_proxy.matching import RouteTable, bucket
from strangler_proxy.routes import Mode, Route, RouteError, validate_route

BACKENDS = ("monolith", "catalog", "notifications")


def route(id: str, path: str, methods: str = "GET", **kw: object) -> Route:
    return Route(id=id, methods=frozenset(methods.split(",")), path=path, **kw)  # type: ignore[arg-type]


def test_the_most_specific_route_wins_whatever_the_order() -> None:
    routes = [route("tail", "/api/{rest*}"), route("param", "/api/products/{id}"),
              route("literal", "/api/products/featured"), route("list", "/api/products")]
    for ordering in (routes, routes[::-1]):
        table = RouteTable(ordering, BACKENDS)
        assert table.match("GET", "/api/products/featured").id == "literal"  # type: ignore[union-attr]
        assert table.match("GET", "/api/products/42").id == "param"  # type: ignore[union-attr]
        assert table.match("GET", "/api/products").id == "list"  # type: ignore[union-attr]
        assert table.match("GET", "/api/orders/1/cancel").id == "tail"  # type: ignore[union-attr]
        assert table.match("GET", "/healthz") is None


def test_methods_and_empty_segments_are_respected() -> None:
    table = RouteTable([route("get", "/api/products/{id}"),
                        route("write", "/api/products/{id}", "PUT,PATCH,DELETE")], BACKENDS)
    assert table.match("DELETE", "/api/products/1").id == "write"  # type: ignore[union-attr]
    assert table.match("POST", "/api/products/1") is None
    assert table.match("GET", "/api/products/") is None  # a parameter is never empty


def test_a_tail_matches_the_rest_including_nothing() -> None:
    table = RouteTable([route("tail", "/api/catalog/{rest*}")], BACKENDS)
    assert table.match("GET", "/api/catalog").id == "tail"  # type: ignore[union-attr]
    assert table.match("GET", "/api/catalog/a/b/c").id == "tail"  # type: ignore[union-attr]
    assert table.match("GET", "/api/catalogue") is None


@pytest.mark.parametrize(("a", "b"), [
    ("/api/products/{id}", "/api/products/{sku}"),
    ("/api/{rest*}", "/api/{other*}"),
])
def test_ambiguous_routes_are_refused(a: str, b: str) -> None:
    with pytest.raises(RouteError, match="ambiguous"):
        RouteTable([route("a", a), route("b", b)], BACKENDS)


def test_the_same_template_for_disjoint_methods_is_fine() -> None:
    table = RouteTable([route("a", "/api/products/{id}", "GET"),
                        route("b", "/api/products/{sku}", "PUT")], BACKENDS)
    assert table.match("PUT", "/api/products/1").id == "b"  # type: ignore[union-attr]


@pytest.mark.parametrize(("changes", "message"), [
    ({"mode": Mode.CANARY, "service": "nope", "percent_bps": 10}, "unknown backend"),
    ({"mode": Mode.CANARY, "service": "catalog", "percent_bps": 10_001}, "percent_bps"),
    ({"mode": Mode.CANARY, "service": "catalog", "percent_bps": 0}, "between 1 and 9999"),
    ({"mode": Mode.EXTRACTED, "service": None}, "needs a service"),
    ({"mode": Mode.EXTRACTED, "service": "monolith"}, "needs a service other than monolith"),
    ({"mode": Mode.LEGACY, "service": "catalog"}, "legacy route has no service"),
    ({"sticky_key": "query:x"}, "sticky_key"),
    ({"path": "api/products"}, "must start with /"),
    ({"path": "/api/{rest*}/more"}, "tail parameter must be the last"),
    ({"path": "/api/pro ducts"}, "bad path segment"),
    ({"id": "Products"}, "route id"),
    ({"methods": frozenset({"BREW"})}, "methods"),
    ({"hash_version": 2}, "hash_version"),
])
def test_invalid_routes_are_refused(changes: dict[str, object], message: str) -> None:
    base = {"id": "products", "methods": frozenset({"GET"}), "path": "/api/products"}
    with pytest.raises(RouteError, match=message):
        validate_route(Route(**{**base, **changes}), BACKENDS)  # type: ignore[arg-type]


def test_the_export_format_round_trips() -> None:
    original = route("products-read", "/api/products/{id}", "GET,HEAD", mode=Mode.CANARY,
                     service="catalog", percent_bps=1000, sticky_key="header:X-Customer-ID")
    assert Route.from_dict(original.to_dict()) == original


def test_duplicate_ids_are_refused() -> None:
    with pytest.raises(RouteError, match="duplicate"):
        RouteTable([route("a", "/x"), route("a", "/y")], BACKENDS)


@given(st.text(min_size=1, max_size=40))
def test_a_bucket_is_stable_and_in_range(key: str) -> None:
    first = bucket("products-read", key)
    assert first == bucket("products-read", key)
    assert 0 <= first < 10_000


@given(st.text(min_size=1, max_size=40), st.integers(1, 9999), st.integers(1, 9999))
def test_raising_the_percentage_keeps_everyone_already_in(key: str, low: int, high: int) -> None:
    low, high = sorted((low, high))
    if bucket("r", key) < low:
        assert bucket("r", key) < high


def test_buckets_spread_evenly_and_differ_per_route() -> None:
    keys = [f"customer-{n}" for n in range(20_000)]
    inside = sum(bucket("products-read", k) < 1000 for k in keys)
    assert abs(inside / len(keys) - 0.10) < 0.01  # 10% within one point
    same = sum(bucket("products-read", k) == bucket("orders-read", k) for k in keys)
    assert same < 20  # independent per route (expected ~2 of 20,000)
