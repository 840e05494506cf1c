"""Live traffic at the stable URL: browsers, editors and shoppers, counted per backend.

Browsers read seeded products (list and detail) through the storefront client; editors create
and change products of their own; shoppers register, order, sometimes cancel, and read their
notifications. Every answer is
counted by the backend that gave it (``X-Strangler-Upstream``); any answer that is not the
expected one, or no answer, is a failure and kept with its reason. Each request carries a fresh
``X-Customer-ID``, so a canary splits the traffic instead of sending one client one way.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from storefront import Storefront, StorefrontError


@dataclass
class Stats:
    """What the clients saw, shared by their threads."""

    requests: int = 0
    failures: list[str] = field(default_factory=list)
    backends: Counter[str] = field(default_factory=Counter)
    written: dict[str, int] = field(default_factory=dict)
    """Product id -> the price the last successful write set (what both sides must show)."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def seen(self, response: httpx.Response) -> None:
        """Count one answer by the backend that gave it."""
        with self.lock:
            self.requests += 1
            self.backends[response.headers.get("X-Strangler-Upstream", "?")] += 1

    def failed(self, what: str) -> None:
        """Keep one failure."""
        with self.lock:
            self.failures.append(what)


class Traffic:
    """The client threads; :meth:`start`, then :meth:`stop` at the end of the rehearsal."""

    def __init__(self, base_url: str, seeded: list[str], product_for_orders: str, *,
                 rate: float, stats: Stats) -> None:
        self._base = base_url
        self._seeded = seeded
        self._product = product_for_orders
        self._pause = 1.0 / rate if rate > 0 else 0.0
        self.stats = stats
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Two browsers, one editor, one shopper."""
        for name, target in (("browser-1", self._browse), ("browser-2", self._browse),
                             ("editor", self._edit), ("shopper", self._shop)):
            thread = threading.Thread(target=self._guarded(target), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Let every client finish its current request."""
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    # -- clients ---------------------------------------------------------------------------

    def _http(self) -> httpx.Client:
        def tag(request: httpx.Request) -> None:
            request.headers["X-Customer-ID"] = uuid.uuid4().hex

        return httpx.Client(base_url=self._base, timeout=15, trust_env=False,
                            event_hooks={"request": [tag], "response": [self.stats.seen]})

    def _browse(self) -> None:
        with self._http() as http, Storefront(self._base, client=http) as shop:
            while not self._stop.is_set():
                if random.random() < 0.7:
                    shop.get_product(random.choice(self._seeded))
                else:
                    shop.list_products(q="seeded", per_page=50)
                self._rest()

    def _edit(self) -> None:
        mine: list[str] = []
        n = 0
        with self._http() as http, Storefront(self._base, client=http) as shop:
            while not self._stop.is_set():
                n += 1
                if not mine or random.random() < 0.3:
                    product = shop.create_product(sku=f"REH-{uuid.uuid4().hex[:10]}",
                                                  name=f"Rehearsal item {n}", price_cents=n,
                                                  currency="EUR")
                    mine.append(product.id)
                    self._written(product.id, product.price_cents)
                else:
                    pid = random.choice(mine)
                    price = random.randrange(1, 100_000)
                    self._written(pid, shop.patch_product(pid, price_cents=price).price_cents)
                self._rest()

    def _shop(self) -> None:
        n = 0
        with self._http() as http, Storefront(self._base, client=http) as shop:
            while not self._stop.is_set():
                n += 1
                customer = _expect(http.post("/api/customers", json={
                    "email": f"shopper-{uuid.uuid4().hex[:12]}@example.com",
                    "name": f"Shopper {n}"}), 201)["id"]
                order = _expect(http.post("/api/orders", json={
                    "customer_id": customer,
                    "lines": [{"product_id": self._product, "quantity": 1}]}), 201)
                if n % 3 == 0:
                    _expect(http.post(f"/api/orders/{order['id']}/cancel"), 200)
                shop.list_notifications(customer)
                self._rest()

    # -- helpers ---------------------------------------------------------------------------

    def _guarded(self, client: Any) -> Any:
        def run() -> None:
            while not self._stop.is_set():
                try:
                    client()
                except (StorefrontError, UnexpectedAnswer, httpx.HTTPError) as exc:
                    self.stats.failed(f"{threading.current_thread().name}: {exc}")
                    time.sleep(0.2)
        return run

    def _written(self, product_id: str, price: int) -> None:
        with self.stats.lock:
            self.stats.written[product_id] = price

    def _rest(self) -> None:
        if self._pause:
            self._stop.wait(self._pause)


class UnexpectedAnswer(RuntimeError):
    """An answer with another status than the one the client expects."""


def _expect(response: httpx.Response, status: int) -> Any:
    if response.status_code != status:
        raise UnexpectedAnswer(f"{response.request.method} {response.request.url.path}: "
                               f"{response.status_code} {response.text[:200]}")
    return response.json()
