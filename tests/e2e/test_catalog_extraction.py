"""The catalog extraction, walked end to end with real processes under live traffic.

Monolith, catalog service, proxy (data plane + admin), both relays and both consumers run as
their own processes on PostgreSQL and RabbitMQ. While clients read and write through the one
stable URL, the operator's commands walk the migration: legacy -> shadow -> (gate refuses a
canary until the contracts verify) -> canary 10 % -> 50 % -> extracted reads -> write cutover
-> rollback of writes and reads -> forward again. At the end: no client request failed, shadow
found no mismatch on the seeded data, reconcile finds no drift, and every write the clients
made is visible, identically, on both sides.
"""

from __future__ import annotations

import json
import random
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from strangler_messaging.db import make_engine
from strangler_messaging.topology import Topology
from strangler_proxy import tables as proxy_tables
from tests.support.system import TOKEN, World, start_system
from tests.support.waiting import wait_until

SEEDED = 30
PHASE_SECONDS = 1.5


@dataclass
class Traffic:
    """Clients reading and writing through the proxy until stopped."""

    base: str
    seeded: list[str]
    stop: threading.Event = field(default_factory=threading.Event)
    failures: list[str] = field(default_factory=list)
    requests: int = 0
    expected: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _check(self, response: httpx.Response, wanted: int, what: str) -> bool:
        with self.lock:
            self.requests += 1
            if response.status_code != wanted:
                self.failures.append(f"{what}: {response.status_code} {response.text[:300]}")
                return False
        return True

    def reader(self) -> None:
        with httpx.Client(base_url=self.base, timeout=15) as http:
            while not self.stop.is_set():
                headers = {"X-Customer-ID": uuid.uuid4().hex}
                try:
                    if random.random() < 0.7:
                        pid = random.choice(self.seeded)
                        self._check(http.get(f"/api/products/{pid}", headers=headers), 200,
                                    f"GET {pid}")
                    else:
                        self._check(http.get("/api/products", headers=headers,
                                             params={"q": "seeded", "per_page": 50}), 200,
                                    "GET list")
                except httpx.HTTPError as exc:
                    with self.lock:
                        self.failures.append(f"read: {exc!r}")
                time.sleep(0.005)

    def writer(self, name: str) -> None:
        mine: list[str] = []
        n = 0
        with httpx.Client(base_url=self.base, timeout=15) as http:
            while not self.stop.is_set():
                n += 1
                try:
                    if not mine or random.random() < 0.3:
                        answer = http.post("/api/products", json={
                            "sku": f"{name}-{n}", "name": f"Client {name} {n}",
                            "price_cents": n, "currency": "EUR"})
                        if self._check(answer, 201, "POST"):
                            mine.append(answer.json()["id"])
                            self._expect(answer.json())
                    elif random.random() < 0.9:
                        pid = random.choice(mine)
                        answer = http.patch(f"/api/products/{pid}",
                                            json={"price_cents": random.randrange(1, 10**6)})
                        if self._check(answer, 200, f"PATCH {pid}"):
                            self._expect(answer.json())
                    else:
                        pid = mine.pop(random.randrange(len(mine)))
                        if self._check(http.delete(f"/api/products/{pid}"), 204,
                                       f"DELETE {pid}"):
                            with self.lock:
                                self.expected[pid] = None
                except httpx.HTTPError as exc:
                    with self.lock:
                        self.failures.append(f"write: {exc!r}")
                time.sleep(0.01)

    def _expect(self, product: dict[str, Any]) -> None:
        with self.lock:
            self.expected[product["id"]] = product


@pytest.fixture
def world(fresh_postgres_urls: Callable[[], str], amqp_url: str, topology: Topology,
          tmp_path: Path) -> Iterator[World]:
    with ExitStack() as stack:
        yield start_system(
            stack, tmp_path, service="catalog", amqp_url=amqp_url, exchange=topology.exchange,
            databases={"monolith": fresh_postgres_urls(), "catalog": fresh_postgres_urls()},
            background=[("relay", "monolith"), ("relay", "catalog"), ("consumer", "catalog"),
                        ("consumer", "monolith")])


def test_the_catalog_extraction_walk_fails_no_request_and_loses_no_write(world: World) -> None:
    seeded = _seed(world.proxy)
    world.cli("backfill", "catalog")
    wait_until(lambda: world.cli("reconcile", "catalog", check=False).returncode == 0,
               timeout=30, message="copy in sync after backfill")
    lags: dict[str, list[float]] = {"monolith -> catalog": [], "catalog -> monolith": []}
    traffic = Traffic(world.proxy, seeded)
    threads = [threading.Thread(target=traffic.reader) for _ in range(3)]
    threads += [threading.Thread(target=traffic.writer, args=(f"w{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    try:
        _walk(world, lags)
    finally:
        traffic.stop.set()
        for thread in threads:
            thread.join(30)

    assert traffic.failures == [], f"{len(traffic.failures)} of {traffic.requests} failed"
    compared, mismatched = _shadow_counts(world)
    assert compared > 0 and mismatched == 0, (compared, mismatched)
    wait_until(lambda: world.cli("reconcile", "catalog", check=False).returncode == 0,
               timeout=30, message="no drift at the end")
    _assert_visible_on_both_sides(world, traffic.expected)
    writes = sum(1 for v in traffic.expected.values() if v is not None)
    print(f"\n{traffic.requests} requests, 0 failed; {len(traffic.expected)} products "
          f"written ({writes} alive); shadow compared {compared}, 0 mismatches")
    for direction, seconds in lags.items():
        print(f"sync lag {direction}: median {statistics.median(seconds) * 1000:.0f} ms, "
              f"max {max(seconds) * 1000:.0f} ms over {len(seconds)} probes")


def _walk(world: World, lags: dict[str, list[float]]) -> None:
    reads = {"products-read": "/api/products/{id}", "products-list": "/api/products"}
    admin = httpx.Client(base_url=world.env["STRANGLER_ADMIN_URL"], timeout=10,
                         headers={"Authorization": f"Bearer {TOKEN}"})

    def set_reads(**fields: Any) -> None:
        """Flip both read routes through the admin API (what `strangler routes set` calls)."""
        for route_id, path in reads.items():
            answer = admin.put(f"/admin/routes/{route_id}", json={
                "methods": ["GET", "HEAD"], "path": path, "reason": "e2e walk", **fields})
            assert answer.status_code == 200, answer.text
        time.sleep(PHASE_SECONDS)

    time.sleep(PHASE_SECONDS)  # legacy: no routes at all
    _probe_lag(world, "monolith", lags["monolith -> catalog"])
    set_reads(mode="shadow", service="catalog")
    refused = world.cli("routes", "set", "products-read", "--mode", "canary", "--service",
                        "catalog", "--percent", "10", "--reason", "too early", check=False)
    assert refused.returncode == 4, refused.stdout + refused.stderr
    world.cli("contracts", "verify")  # records passing verifications: the gate now opens
    canary = {"service": "catalog", "sticky_key": "header:X-Customer-ID"}
    set_reads(mode="canary", percent_bps=1000, **canary)
    set_reads(mode="canary", percent_bps=5000, **canary)
    set_reads(mode="extracted", service="catalog")
    held: list[float] = []

    def move(to: str, reason: str) -> None:
        report = json.loads(world.cli("ownership", "move", "catalog", "--to", to, "--reason",
                                      reason, "--json").stdout)
        assert (report["after"], report["epoch"]) == (to, len(held) + 1), report
        held.append(report["paused_seconds"])

    move("catalog", "e2e cutover")
    time.sleep(PHASE_SECONDS)
    _probe_lag(world, "catalog", lags["catalog -> monolith"])
    move("monolith", "e2e rollback")
    set_reads(mode="legacy")
    _probe_lag(world, "monolith", lags["monolith -> catalog"])
    set_reads(mode="extracted", service="catalog")
    move("catalog", "e2e forward")
    time.sleep(PHASE_SECONDS)
    _probe_lag(world, "catalog", lags["catalog -> monolith"])
    shown = world.cli("ownership", "show", "catalog").stdout
    assert "writes owned by catalog" in shown, shown
    admin.close()
    print(f"\nwrites held during the three ownership moves: "
          f"{', '.join(f'{s:.2f}s' for s in held)}")


def _probe_lag(world: World, owner: str, into: list[float], probes: int = 5) -> None:
    """Write through the proxy (the owner answers), time until the other side has it."""
    other = world.monolith if owner == "catalog" else world.service
    with httpx.Client(timeout=10) as http:
        product = http.post(f"{world.proxy}/api/products", json={
            "sku": f"PROBE-{uuid.uuid4().hex[:8]}", "name": "Lag probe", "price_cents": 1,
            "currency": "EUR"}).json()
        for price in range(2, 2 + probes):
            started = time.monotonic()
            answer = http.patch(f"{world.proxy}/api/products/{product['id']}",
                                json={"price_cents": price})
            assert answer.headers["X-Strangler-Upstream"] == owner, answer.headers
            url = f"{other}/api/products/{product['id']}"
            wait_until(lambda url=url, price=price: http.get(url).json().get(  # type: ignore[misc]
                "price_cents") == price, timeout=10, every=0.002, message="probe synced")
            into.append(time.monotonic() - started)


def _seed(base: str) -> list[str]:
    with httpx.Client(base_url=base, timeout=10) as http:
        return [http.post("/api/products", json={
            "sku": f"SEED-{n:03d}", "name": f"Seeded product {n}", "description": "seed",
            "price_cents": 100 + n, "currency": "EUR"}).json()["id"] for n in range(SEEDED)]


def _shadow_counts(world: World) -> tuple[float, int]:
    metrics = httpx.get(world.env["STRANGLER_ADMIN_URL"] + "/metrics",
                        headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).text
    compared = sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
                   if line.startswith("proxy_shadow_comparisons_total{"))
    engine = make_engine(world.proxy_db)
    with engine.connect() as conn:
        mismatched = conn.scalar(select(func.count()).select_from(proxy_tables.mismatches))
    engine.dispose()
    return compared, int(mismatched or 0)


def _assert_visible_on_both_sides(world: World,
                                  expected: dict[str, dict[str, Any] | None]) -> None:
    with httpx.Client(timeout=10) as http:
        for pid, product in expected.items():
            for side in (world.monolith, world.service):
                answer = http.get(f"{side}/api/products/{pid}")
                if product is None:
                    assert answer.status_code == 404, (side, pid, answer.text)
                else:
                    assert answer.json() == product, (side, pid)
