"""Paused routes hold their requests: released to the new route when unpaused, 503 on timeout.

This is the proxy's half of a write cutover: writes wait while ownership moves, then go to the
new owner, and no client sees a failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from strangler_cli.databases import DATABASES, upgrade
from strangler_messaging.db import make_engine
from strangler_proxy.routes import Fallback, Mode, Route
from strangler_proxy.store import Change, RouteStore
from strangler_proxy.worker import DataPlane
from tests.support.upstreams import Upstream, data_plane, serving
from tests.support.waiting import wait_until

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Paused:
    def __init__(self, url: str, plane: DataPlane, store: RouteStore, legacy: Upstream,
                 service: Upstream) -> None:
        self.url, self.plane, self.store = url, plane, store
        self.legacy, self.service = legacy, service

    def set(self, route: Route) -> None:
        version = self.store.change([Change(route.id, route)], actor="test", source="test",
                                    action="set", reason="test")
        wait_until(lambda: self.plane.holder.table.version >= version, message="reloaded")


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[Paused]:
    url = f"sqlite:///{tmp_path / 'proxy.db'}"
    upgrade(DATABASES["proxy"], url)
    engine = make_engine(url)
    with serving(Upstream("monolith")) as legacy, serving(Upstream("catalog")) as service:
        backends = {"monolith": legacy.url, "catalog": service.url}
        with data_plane(url, backends, hold_timeout=1.5) as (proxy_url, plane):
            yield Paused(proxy_url, plane, RouteStore(engine, ["monolith", "catalog"]),
                         legacy, service)
    engine.dispose()


def writes(**kw: object) -> Route:
    return Route(**{"id": "products-write", "methods": WRITES,  # type: ignore[arg-type]
                    "path": "/api/products/{id}", **kw})


def test_held_writes_go_to_the_route_the_table_has_when_the_pause_ends(proxy: Paused) -> None:
    proxy.set(writes(paused=True))
    with ThreadPoolExecutor(4) as pool, httpx.Client(base_url=proxy.url, timeout=10) as client:
        pending = [pool.submit(client.put, f"/api/products/p{n}", json={"n": n})
                   for n in range(4)]
        wait_until(lambda: proxy.plane.metrics.registry.get_sample_value(
            "proxy_held_requests_total", {"route": "products-write"}) == 4, message="held")
        assert not proxy.legacy.seen and not proxy.service.seen  # nothing forwarded yet
        proxy.set(writes(mode=Mode.EXTRACTED, service="catalog", fallback=Fallback.NEVER))
        answers = [f.result() for f in pending]
    assert [a.status_code for a in answers] == [200] * 4
    assert {a.headers["X-Strangler-Upstream"] for a in answers} == {"catalog"}
    assert len(proxy.service.seen) == 4 and not proxy.legacy.seen


def test_a_pause_longer_than_the_hold_timeout_answers_503_and_forwards_nothing(
        proxy: Paused) -> None:
    proxy.set(writes(paused=True))
    with httpx.Client(base_url=proxy.url, timeout=10) as client:
        answer = client.delete("/api/products/p1")
        read = client.get("/api/products/p1")
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"
    assert answer.json()["error"]["code"] == "route_paused"
    assert read.status_code == 200  # reads match no paused route
    assert [seen["method"] for seen in proxy.legacy.seen] == ["GET"]
