"""The proxy as real processes: a route change reaches every instance within a second, and
flipping a route back and forth under concurrent load fails no request."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from strangler_cli.databases import DATABASES, upgrade
from strangler_messaging.db import make_engine
from strangler_proxy.gate import VerificationStore
from strangler_proxy.routes import Mode, Route
from strangler_proxy.store import Change, RouteStore
from tests.support.processes import PYTHON, free_port, running
from tests.support.upstreams import Upstream, serving

BACKENDS = ("monolith", "catalog", "notifications")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], Upstream, Upstream]]:
    url = f"sqlite:///{tmp_path / 'proxy.db'}"
    upgrade(DATABASES["proxy"], url)
    with serving(Upstream("monolith")) as legacy, serving(Upstream("catalog")) as service:
        env = {"PROXY_DATABASE_URL": url, "STRANGLER_MONOLITH_URL": legacy.url,
               "STRANGLER_CATALOG_URL": service.url}
        yield url, env, legacy, service


def _route(mode: Mode) -> Route:
    return Route(id="products-read", methods=frozenset({"GET"}), path="/api/products/{id}",
                 mode=mode, service=None if mode is Mode.LEGACY else "catalog")


def test_two_proxy_processes_see_a_change_within_a_second(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, env, _legacy, _service = world
    engine = make_engine(url)
    store = RouteStore(engine, BACKENDS)
    ports = [free_port(), free_port()]

    def worker(port: int):  # type: ignore[no-untyped-def]
        return running([], port=port, env=env, log=tmp_path / f"proxy-{port}.log",
                       ready_path="/readyz-unknown-path-answers-from-monolith",
                       command=[PYTHON, "-m", "strangler_proxy.worker", "--port", str(port)])

    with worker(ports[0]), worker(ports[1]):
        clients = [httpx.Client(base_url=f"http://127.0.0.1:{p}", timeout=5) for p in ports]
        for client in clients:
            assert client.get("/api/products/1").json()["backend"] == "monolith"
        store.change([Change("products-read", _route(Mode.EXTRACTED))], actor="test",
                     source="test", action="set", reason="multi-instance reload")
        changed = time.monotonic()
        seen: dict[int, float] = {}
        while len(seen) < 2 and time.monotonic() - changed < 5:
            for n, client in enumerate(clients):
                if n not in seen and client.get("/api/products/1").json()["backend"] == "catalog":
                    seen[n] = time.monotonic() - changed
            time.sleep(0.01)
    engine.dispose()
    assert len(seen) == 2, "an instance never saw the change"
    print(f"route change seen by both instances after {max(seen.values()):.3f}s")
    assert max(seen.values()) < 1.0, f"slowest instance took {max(seen.values()):.3f}s"


def test_flipping_a_route_under_load_fails_no_request(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, env, _legacy, _service = world
    engine = make_engine(url)
    VerificationStore(engine).record("catalog", "1.0.0", "a" * 64, True,
                                     [("GET", "/api/products/1")])
    engine.dispose()
    port, admin_port = free_port(), free_port()
    admin = f"http://127.0.0.1:{admin_port}"
    env = {**env, "STRANGLER_ADMIN_TOKEN": "flip-token"}
    headers = {"Authorization": "Bearer flip-token"}
    with running(["run", "proxy", "--port", str(port), "--admin-port", str(admin_port),
                  "--workers", "2"], port=admin_port, env=env, log=tmp_path / "proxy.log",
                 ready_path="/healthz"):
        base = f"http://127.0.0.1:{port}"
        httpx_ready = time.monotonic()
        while time.monotonic() - httpx_ready < 10:
            try:
                httpx.get(base + "/api/products/1", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        stop = threading.Event()
        results: list[tuple[int, str]] = []
        failures: list[str] = []

        def client() -> None:
            with httpx.Client(base_url=base, timeout=5) as http:
                while not stop.is_set():
                    try:
                        response = http.get("/api/products/1")
                        results.append((response.status_code,
                                        response.headers["X-Strangler-Upstream"]))
                        if response.status_code != 200:
                            failures.append(f"{response.status_code} {response.text[:200]}")
                    except httpx.HTTPError as exc:
                        failures.append(repr(exc))

        threads = [threading.Thread(target=client) for _ in range(8)]
        for thread in threads:
            thread.start()
        with httpx.Client(base_url=admin, headers=headers, timeout=5) as control:
            for flip in range(16):
                mode = Mode.EXTRACTED if flip % 2 == 0 else Mode.LEGACY
                body = {**_route(mode).to_dict(), "reason": f"flip {flip}", "actor": "test"}
                body.pop("id")
                response = control.put("/admin/routes/products-read", json=body)
                assert response.status_code == 200, response.text
                time.sleep(0.25)
            history = control.get("/admin/history", params={"limit": 100}).json()
        stop.set()
        for thread in threads:
            thread.join(10)
    assert failures == [], failures[:5]
    served = {backend for _, backend in results}
    assert served == {"monolith", "catalog"} and len(results) > 200
    flips = [e for e in history["items"] if e["action"] == "set"]
    assert len(flips) == 16 and {e["reason"] for e in flips} == {f"flip {n}" for n in range(16)}
