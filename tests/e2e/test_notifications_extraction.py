"""The notifications extraction with real processes: every order notified once, sent once.

Monolith, proxy, both relays, the ``notifications`` consumer, the delivery worker and the
service's HTTP side run as processes on PostgreSQL and RabbitMQ; emails go to a real SMTP
server on loopback. Customers register and order through the stable URL while the operator moves
the notifications context to the service with ``strangler ownership move``. At the end every
causing event has exactly one notification on exactly one side, every notification the service
recorded arrived exactly once by email (by Message-ID), and the service's read route answers for
the whole history. It prints the throughput of consumer + worker + SMTP.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from extracted.notifications.tables import notifications, pending
from legacy_monolith.notifications.models import Notification
from legacy_monolith.schema import outbox as monolith_outbox
from strangler_cli.smtp_sink import SmtpSink
from strangler_messaging.db import make_engine
from strangler_messaging.topology import Topology
from tests.support.processes import free_port
from tests.support.system import TOKEN, World, start_system
from tests.support.waiting import wait_until

CAUSES = ("customers.customer.registered.v1", "orders.order.placed.v1",
          "orders.order.cancelled.v1")
BURST = 150


@dataclass
class Mail:
    """The SMTP sink and the notifications database."""

    sink: SmtpSink
    database: str


@pytest.fixture
def system(fresh_postgres_urls: Callable[[], str], amqp_url: str, topology: Topology,
           tmp_path: Path) -> Iterator[tuple[World, Mail]]:
    with ExitStack() as stack:
        sink = stack.enter_context(SmtpSink("127.0.0.1", free_port()))
        databases = {"monolith": fresh_postgres_urls(), "notifications": fresh_postgres_urls()}
        world = start_system(
            stack, tmp_path, service="notifications", databases=databases, amqp_url=amqp_url,
            exchange=topology.exchange,
            env={"NOTIFICATIONS_SMTP_PORT": str(sink.port),
                 "NOTIFICATIONS_SEND_QUEUE": f"{topology.exchange}.send"},
            background=[("relay", "monolith"), ("relay", "notifications"),
                        ("consumer", "notifications"), ("worker", "notifications")])
        yield world, Mail(sink, databases["notifications"])


def test_orders_across_the_switch_over_are_notified_and_sent_exactly_once(
        system: tuple[World, Mail]) -> None:
    world, mail = system
    product = _product(world.proxy)
    stop, customers = threading.Event(), []
    shopper = threading.Thread(target=_shop, args=(world.proxy, product, stop, customers))
    shopper.start()
    try:
        time.sleep(1.5)
        moved = world.cli("ownership", "move", "notifications", "--to", "notifications",
                          "--reason", "e2e switch-over")
        assert "writes owned by notifications" in moved.stdout, moved.stdout
        time.sleep(1.5)
    finally:
        stop.set()
        shopper.join(30)
    assert len(customers) >= 4, "the stream ran on both sides of the switch"

    started = time.monotonic()
    with httpx.Client(base_url=world.proxy, timeout=15) as http, ThreadPoolExecutor(8) as pool:
        burst = list(pool.map(lambda n: _register(http, f"burst{n}"), range(BURST)))
    registered = time.monotonic() - started
    monolith_engine, service_engine = make_engine(world.env["MONOLITH_DATABASE_URL"]), \
        make_engine(mail.database)
    try:
        def unsettled() -> set[str]:
            causes = _ids(monolith_engine, select(monolith_outbox.c.id).where(
                monolith_outbox.c.type.in_(CAUSES)))
            handled = _ids(monolith_engine, select(Notification.source_event_id)) | _ids(
                service_engine, select(notifications.c.source_event_id).where(
                    notifications.c.origin == "notifications"))
            return causes - handled

        deadline = time.monotonic() + 60
        while unsettled() and time.monotonic() < deadline:
            time.sleep(0.1)
        missing = unsettled()
        assert not missing, _explain(missing, monolith_engine, service_engine)
        own = _ids(service_engine, select(notifications.c.id).where(
            notifications.c.origin == "notifications"))
        mail.sink.wait_for(len(own), timeout=60)
        elapsed = time.monotonic() - started
        causes = _ids(monolith_engine, select(monolith_outbox.c.id).where(
            monolith_outbox.c.type.in_(CAUSES)))
        by_monolith = _ids(monolith_engine, select(Notification.source_event_id))
        by_service = _ids(service_engine, select(notifications.c.source_event_id).where(
            notifications.c.origin == "notifications"))
    finally:
        monolith_engine.dispose()
        service_engine.dispose()

    assert by_monolith | by_service == causes and not by_monolith & by_service
    assert by_monolith and by_service
    sent = [m.message_id for m in mail.sink.messages]
    assert len(sent) == len(set(sent)) == len(own)
    assert set(sent) == {f"<{n}@notifications.shop.invalid>" for n in own}
    for customer in (customers[0], customers[-1], burst[-1]):
        direct = httpx.get(f"{world.monolith}/api/notifications",
                           params={"customer_id": customer}).json()["items"]
        served = httpx.get(f"{world.service}/api/notifications",
                           params={"customer_id": customer}).json()["items"]
        assert served and all(item in served for item in direct), customer
    _extract_the_read_route(world, customers[0])
    print(f"\n{len(causes)} causing events, {len(by_monolith)} notified by the monolith, "
          f"{len(by_service)} by the service, {len(sent)} emails, 0 duplicates; "
          f"a burst of {BURST} registrations (8 clients, {registered:.1f}s) was emailed "
          f"{elapsed:.1f}s after it started: {BURST / elapsed:.0f} events/s through proxy + "
          f"monolith + relay + consumer + worker + SMTP, last email "
          f"{elapsed - registered:.1f}s after the last registration")


def _extract_the_read_route(world: World, customer: str) -> None:
    """Verify the contracts (the gate needs them), then serve the reads from the service."""
    world.cli("contracts", "verify")
    with httpx.Client(base_url=world.env["STRANGLER_ADMIN_URL"], timeout=10,
                      headers={"Authorization": f"Bearer {TOKEN}"}) as admin:
        flipped = admin.put("/admin/routes/notifications-read", json={
            "methods": ["GET", "HEAD"], "path": "/api/notifications", "mode": "extracted",
            "service": "notifications", "reason": "e2e: the service answers the reads"})
        assert flipped.status_code == 200, flipped.text
    wait_until(lambda: httpx.get(f"{world.proxy}/api/notifications", params={
        "customer_id": customer}).headers["X-Strangler-Upstream"] == "notifications",
               timeout=5, message="proxy serves the reads from the service")
    through = httpx.get(f"{world.proxy}/api/notifications", params={"customer_id": customer})
    direct = httpx.get(f"{world.service}/api/notifications", params={"customer_id": customer})
    assert (through.status_code, through.json()) == (200, direct.json())


def _shop(base: str, product: str, stop: threading.Event, customers: list[str]) -> None:
    with httpx.Client(base_url=base, timeout=15) as http:
        n = 0
        while not stop.is_set():
            n += 1
            customer = _register(http, f"c{n}")
            order = http.post("/api/orders", json={
                "customer_id": customer, "lines": [{"product_id": product, "quantity": 1}]})
            assert order.status_code == 201, order.text
            if n % 2:
                cancelled = http.post(f"/api/orders/{order.json()['id']}/cancel")
                assert cancelled.status_code == 200, cancelled.text
            customers.append(customer)


def _register(http: httpx.Client, name: str) -> str:
    answer = http.post("/api/customers", json={"email": f"{name}@example.com", "name": name})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def _product(base: str) -> str:
    with httpx.Client(base_url=base, timeout=10) as http:
        product = http.post("/api/products", json={"sku": "TEA-1", "name": "Tea",
                                                   "price_cents": 350, "currency": "EUR"})
        assert http.put("/api/inventory/TEA-1", json={"quantity": 100_000}).status_code == 200
        return str(product.json()["id"])


def _explain(missing: set[str], monolith_engine: Any, service_engine: Any) -> str:
    """What the failure message needs: the unnotified events, their decisions, what waits."""
    sample = sorted(missing)[:5]
    with monolith_engine.connect() as conn:
        causes = conn.execute(select(monolith_outbox.c.type, monolith_outbox.c.published_at)
                              .where(monolith_outbox.c.id.in_(sample))).all()
        decisions = conn.scalars(select(monolith_outbox.c.payload).where(
            monolith_outbox.c.aggregateid.in_(sample))).all()
    with service_engine.connect() as conn:
        waiting = conn.execute(select(pending).where(pending.c.event_id.in_(sample))).all()
    return (f"{len(missing)} not notified, e.g. {causes}; decisions {decisions}; "
            f"waiting in the service {waiting}")


def _ids(engine: object, query: object) -> set[str]:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        return {str(v) for v in conn.scalars(query) if v is not None}
