"""The data plane over real sockets, between real upstream apps: modes, headers, fallback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from strangler_cli.databases import DATABASES, upgrade
from strangler_messaging.db import make_engine
from strangler_proxy.mismatches import recent_mismatches
from strangler_proxy.routes import Fallback, Mode, Route, ShadowOptions
from strangler_proxy.store import Change, RouteStore
from strangler_proxy.worker import DataPlane
from tests.support.upstreams import Upstream, data_plane, serving
from tests.support.waiting import wait_until

BACKENDS = ("monolith", "catalog", "notifications")


class Proxy:
    """A running data plane, its store, and its two upstreams."""

    def __init__(self, url: str, plane: DataPlane, store: RouteStore, legacy: Upstream,
                 service: Upstream) -> None:
        self.url, self.plane, self.store = url, plane, store
        self.legacy, self.service = legacy, service
        self.client = httpx.Client(base_url=url, timeout=10)

    def set(self, route: Route) -> None:
        version = self.store.change([Change(route.id, route)], actor="test", source="test",
                                    action="set", reason="test")
        wait_until(lambda: self.plane.holder.table.version >= version, message="reloaded")

    def counter(self, name: str, labels: dict[str, str]) -> float:
        return self.plane.metrics.registry.get_sample_value(name, labels) or 0.0


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[Proxy]:
    url = f"sqlite:///{tmp_path / 'proxy.db'}"
    upgrade(DATABASES["proxy"], url)
    engine = make_engine(url)
    with serving(Upstream("monolith")) as legacy, serving(Upstream("catalog")) as service:
        backends = {"monolith": legacy.url, "catalog": service.url,
                    "notifications": "http://127.0.0.1:9"}
        with data_plane(url, backends, tester_token="tester-secret",
                        response_timeout=1.0) as (proxy_url, plane):
            made = Proxy(proxy_url, plane, RouteStore(engine, BACKENDS), legacy, service)
            yield made
            made.client.close()
    engine.dispose()


def products(mode: Mode = Mode.EXTRACTED, **kw: object) -> Route:
    fields: dict[str, object] = {"id": "products", "methods": frozenset({"GET", "HEAD", "POST"}),
                                 "path": "/api/products/{rest*}", "mode": mode,
                                 "service": None if mode is Mode.LEGACY else "catalog"}
    return Route(**{**fields, **kw})  # type: ignore[arg-type]


def test_unmatched_requests_go_to_the_monolith_with_forwarding_headers(proxy: Proxy) -> None:
    response = proxy.client.get("/api/orders?x=1", headers={
        "X-Request-ID": "req-1", "X-Forwarded-For": "10.1.1.1",
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"})
    assert response.status_code == 200
    assert response.json()["backend"] == "monolith"
    assert response.headers["X-Strangler-Upstream"] == "monolith"
    assert response.headers["X-Request-ID"] == "req-1"
    seen = proxy.legacy.seen[-1]["headers"]
    assert isinstance(seen, dict)
    assert seen["X-Forwarded-For"] == "10.1.1.1, 127.0.0.1"
    assert seen["X-Forwarded-Proto"] == "http"
    assert seen["X-Forwarded-Host"] == proxy.url.removeprefix("http://")
    assert seen["X-Request-Id"] == "req-1"
    trace, span = seen["Traceparent"].split("-")[1:3]  # type: ignore[union-attr]
    assert trace == "0af7651916cd43dd8448eb211c80319c" and span != "b7ad6b7169203331"


def test_a_missing_or_insane_request_id_is_replaced(proxy: Proxy) -> None:
    for sent in (None, "has spaces", "x" * 200):
        headers = {"X-Request-ID": sent} if sent else {}
        response = proxy.client.get("/x", headers=headers)
        assert len(response.headers["X-Request-ID"]) == 32
        assert response.headers["X-Request-ID"] != sent


def test_hop_by_hop_and_spoofed_internal_headers_never_reach_a_backend(proxy: Proxy) -> None:
    response = proxy.client.get("/x", headers={
        "Connection": "keep-alive, X-Private", "X-Private": "secret", "TE": "trailers",
        "Proxy-Authorization": "Basic abc", "X-Strangler-Upstream": "catalog",
        "X-Strangler-Shadow": "1", "X-Strangler-Backend": "catalog"})
    assert response.headers["X-Strangler-Upstream"] == "monolith"
    seen = {k.lower() for k in proxy.legacy.seen[-1]["headers"]}  # type: ignore[union-attr]
    assert not seen & {"x-private", "te", "proxy-authorization", "x-strangler-upstream",
                       "x-strangler-shadow", "x-strangler-backend"}


def test_the_tester_override_needs_the_token(proxy: Proxy) -> None:
    wanted = {"X-Strangler-Backend": "catalog"}
    assert proxy.client.get("/x", headers=wanted).json()["backend"] == "monolith"
    wrong = {**wanted, "X-Strangler-Token": "guess"}
    assert proxy.client.get("/x", headers=wrong).json()["backend"] == "monolith"
    right = {**wanted, "X-Strangler-Token": "tester-secret"}
    assert proxy.client.get("/x", headers=right).json()["backend"] == "catalog"


def test_extracted_and_legacy_modes(proxy: Proxy) -> None:
    proxy.set(products(Mode.EXTRACTED))
    assert proxy.client.get("/api/products/7").json()["backend"] == "catalog"
    assert proxy.client.get("/api/products").json()["backend"] == "catalog"
    assert proxy.client.delete("/api/products/7").json()["backend"] == "monolith"  # method
    proxy.set(products(Mode.LEGACY))
    assert proxy.client.get("/api/products/7").json()["backend"] == "monolith"


def test_a_canary_is_sticky_proportional_and_only_grows(proxy: Proxy) -> None:
    proxy.set(products(Mode.CANARY, percent_bps=3000, sticky_key="header:X-Customer-ID"))

    def backend(key: str) -> str:
        return str(proxy.client.get("/api/products", headers={"X-Customer-ID": key})
                   .json()["backend"])

    keys = [f"c{n}" for n in range(300)]
    first = {key: backend(key) for key in keys}
    assert first == {key: backend(key) for key in keys[:50]} | {
        k: first[k] for k in keys[50:]}  # same key, same backend
    share = sum(b == "catalog" for b in first.values()) / len(keys)
    assert 0.2 < share < 0.4
    proxy.set(products(Mode.CANARY, percent_bps=6000, sticky_key="header:X-Customer-ID"))
    second = {key: backend(key) for key in keys}
    assert all(second[k] == "catalog" for k, b in first.items() if b == "catalog")
    assert 0.5 < sum(b == "catalog" for b in second.values()) / len(keys) < 0.7


def test_shadow_answers_from_legacy_and_records_mismatches_off_the_path(proxy: Proxy) -> None:
    proxy.set(products(Mode.SHADOW))
    response = proxy.client.get("/api/products/1")
    assert response.json()["backend"] == "monolith"
    wait_until(lambda: proxy.counter("proxy_shadow_comparisons_total",
                                     {"route": "products", "result": "mismatch"}) == 1,
               message="the mirror compared")
    mirrored = proxy.service.seen[-1]
    assert mirrored["headers"]["X-Strangler-Shadow"] == "1"  # type: ignore[index]
    wait_until(lambda: len(recent_mismatches(proxy.store._engine)) == 1,
               message="mismatch sampled")
    [sample] = recent_mismatches(proxy.store._engine)
    assert sample["differences"] == ['backend: "monolith" != "catalog"']
    before = len(proxy.service.seen)
    assert proxy.client.post("/api/products", json={}).json()["backend"] == "monolith"
    assert len(proxy.service.seen) == before  # writes are not mirrored unless opted in


def test_shadow_ignore_paths_turn_a_mismatch_into_a_match(proxy: Proxy) -> None:
    proxy.set(products(Mode.SHADOW, shadow=ShadowOptions(ignore_paths=("backend",))))
    proxy.client.get("/api/products/1")
    wait_until(lambda: proxy.counter("proxy_shadow_comparisons_total",
                                     {"route": "products", "result": "match"}) == 1,
               message="a match")


def test_a_service_that_cannot_be_reached_falls_back_for_reads_and_unsent_writes(
        proxy: Proxy) -> None:
    proxy.set(products(Mode.EXTRACTED, service="notifications"))  # nothing listens there
    assert proxy.client.get("/api/products/1").json()["backend"] == "monolith"
    assert proxy.client.post("/api/products", json={}).json()["backend"] == "monolith"
    assert proxy.counter("proxy_fallbacks_total", {"route": "products", "reason": "connect"}) == 2


def test_a_write_the_service_failed_is_never_replayed(proxy: Proxy) -> None:
    proxy.set(products(Mode.EXTRACTED))
    proxy.service.status = 500
    assert proxy.client.get("/api/products/1").json()["backend"] == "monolith"  # read: fallback
    legacy_before = len(proxy.legacy.seen)
    response = proxy.client.post("/api/products", json={"a": 1})
    assert response.status_code == 500 and response.headers["X-Strangler-Upstream"] == "catalog"
    assert len(proxy.legacy.seen) == legacy_before


def test_fallback_never_answers_with_the_failure(proxy: Proxy) -> None:
    proxy.set(products(Mode.EXTRACTED, service="notifications", fallback=Fallback.NEVER))
    response = proxy.client.get("/api/products/1")
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_unavailable"
    assert response.headers["X-Strangler-Upstream"] == "notifications"


def test_a_slow_service_times_out_with_504_or_falls_back(proxy: Proxy) -> None:
    proxy.service.delay = 1.5
    proxy.set(products(Mode.EXTRACTED, fallback=Fallback.NEVER))
    response = proxy.client.get("/api/products/1")
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "upstream_timeout"
    proxy.set(products(Mode.EXTRACTED))
    assert proxy.client.get("/api/products/1").json()["backend"] == "monolith"


def test_the_breaker_opens_is_audited_and_recovers(proxy: Proxy) -> None:
    breaker = proxy.plane.breakers["catalog"]
    breaker._settings = type(breaker._settings)(consecutive_failures=3, cool_down=0.3)
    proxy.set(products(Mode.EXTRACTED))
    proxy.service.status = 503
    for _ in range(3):
        assert proxy.client.get("/api/products/1").json()["backend"] == "monolith"
    assert breaker.state == "open"
    sent = len(proxy.service.seen)
    assert proxy.client.get("/api/products/1").json()["backend"] == "monolith"
    assert len(proxy.service.seen) == sent  # an open breaker sends nothing
    assert proxy.client.post("/api/products", json={}).status_code == 503
    proxy.service.status = 200
    wait_until(lambda: proxy.client.get("/api/products/1").json()["backend"] == "catalog",
               timeout=5, message="recovered after the cool-down")
    assert breaker.state == "closed"
    wait_until(lambda: {e.action for e in proxy.store.history()} >= {
        "breaker_open", "breaker_half_open", "breaker_closed"}, message="audited")
    opened = next(e for e in proxy.store.history() if e.action == "breaker_open")
    assert opened.source == "breaker" and opened.reason == "catalog: 3 consecutive failures"


def test_head_keeps_the_upstream_length_and_sends_no_body(proxy: Proxy) -> None:
    response = proxy.client.head("/api/products")
    assert response.status_code == 200 and response.content == b""
    assert int(response.headers["Content-Length"]) > 0


def test_the_admin_api_is_not_reachable_through_the_public_port(proxy: Proxy) -> None:
    for path in ("/admin/routes", "/admin/status", "/metrics"):
        response = proxy.client.get(path, headers={"Authorization": "Bearer tester-secret"})
        assert response.headers["X-Strangler-Upstream"] == "monolith"
        assert response.json()["backend"] == "monolith"
