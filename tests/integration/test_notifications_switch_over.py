"""The notifications switch-over under a stream of orders: every event notified exactly once.

Customers register and place and cancel orders in the monolith without pause while the
operator moves the notifications context to the service, back, and forward again. The
monolith's relay and the service's ``notifications`` consumer run on real RabbitMQ. At the end
each causing event has exactly one notification, recorded by exactly one side, and the service
enqueued a delivery job for each of its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from pika.adapters.blocking_connection import BlockingChannel
from sqlalchemy import Engine, func, select

from extracted.notifications.recording import notifications_consumer, write_ownership
from extracted.notifications.tables import notifications, pending
from legacy_monolith.app import Shop
from legacy_monolith.notifications.models import Notification
from legacy_monolith.schema import outbox as monolith_outbox
from strangler_cli.contexts import CONTEXTS
from strangler_cli.cutover import ControlDesk, Side, WriteCutover
from strangler_cli.databases import DATABASES, upgrade
from strangler_messaging.consumer import ConsumerRunner
from strangler_messaging.db import make_engine
from strangler_messaging.relay import Relay, RelaySettings
from strangler_messaging.topology import Topology
from strangler_proxy.control import RouteControl
from strangler_proxy.gate import VerificationStore
from strangler_proxy.store import RouteStore
from tests.support.waiting import in_thread, wait_until

TRIGGERS = ("customers.customer.registered.v1", "orders.order.placed.v1",
            "orders.order.cancelled.v1")


class Jobs:
    def __init__(self) -> None:
        self.ids: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, ids: Sequence[str]) -> None:
        with self._lock:
            self.ids.extend(ids)


@pytest.fixture
def control(tmp_path: Path) -> Iterator[RouteControl]:
    url = f"sqlite:///{tmp_path / 'proxy.db'}"
    upgrade(DATABASES["proxy"], url)
    engine = make_engine(url)
    yield RouteControl(RouteStore(engine, ["monolith", "notifications"]),
                       VerificationStore(engine))
    engine.dispose()


def _shopping(client: FlaskClient, stop: threading.Event, made: list[str]) -> None:
    product = client.post("/api/products", json={"sku": "TEA-1", "name": "Tea",
                                                 "price_cents": 350, "currency": "EUR"}).json
    assert client.put("/api/inventory/TEA-1", json={"quantity": 100_000}).status_code == 200
    n = 0
    while not stop.is_set():
        n += 1
        customer = client.post("/api/customers", json={"email": f"c{n}@example.com",
                                                       "name": f"C{n}"}).json["id"]
        order = client.post("/api/orders", json={
            "customer_id": customer, "lines": [{"product_id": product["id"], "quantity": 1}]})
        assert order.status_code == 201, order.json
        if n % 2:
            assert client.post(f"/api/orders/{order.json['id']}/cancel").status_code == 200
        made.append(customer)


def _triggers(shop: Shop) -> list[str]:
    with shop.engine.connect() as conn:
        return list(conn.scalars(select(monolith_outbox.c.id).where(
            monolith_outbox.c.type.in_(TRIGGERS))))


def test_every_event_is_notified_exactly_once_across_three_moves(
        shop: Shop, client: FlaskClient, notifications_engine: Engine, control: RouteControl,
        amqp_url: str, topology: Topology, amqp_channel: BlockingChannel) -> None:
    jobs = Jobs()
    consumer = notifications_consumer(notifications_engine, jobs)
    topology.declare_consumer(amqp_channel, consumer.spec)
    ctx = CONTEXTS["notifications"]()
    assert ctx.source_ownership is not None and ctx.target_ownership is not None
    cutover = WriteCutover(ctx, Side("monolith", shop.engine, ctx.source_ownership()),
                           Side("notifications", notifications_engine, write_ownership()),
                           ControlDesk(control, "test"))
    stop, made = threading.Event(), []
    relay = Relay(shop.engine, monolith_outbox, amqp_url, topology=topology,
                  settings=RelaySettings(batch_size=50, idle_poll_max=0.02))
    with ExitStack() as stack:
        stack.enter_context(in_thread(ConsumerRunner(consumer, amqp_url, topology=topology)))
        stack.enter_context(in_thread(relay))
        shopper = threading.Thread(target=_shopping, args=(client, stop, made))
        shopper.start()
        for to in ("notifications", "monolith", "notifications"):
            time.sleep(0.7)
            assert cutover.move(to, "switch-over drill").after == to
        time.sleep(0.7)
        stop.set()
        shopper.join(30)
        causes = _triggers(shop)
        wait_until(lambda: _pending(notifications_engine) == 0
                   and _service_causes(notifications_engine) | _monolith_causes(shop)
                   >= set(causes), timeout=30, message="every event decided and notified")

    monolith, service = _monolith_causes(shop), _service_causes(notifications_engine)
    assert len(made) >= 6 and len(causes) == len(set(causes))
    assert monolith | service == set(causes) and not monolith & service
    assert monolith and service, "both sides handled part of the stream"
    assert len(jobs.ids) == len(service) == len(set(jobs.ids))
    with shop.engine.connect() as conn:
        recorded = conn.scalar(select(func.count()).select_from(Notification))
    assert recorded == len(monolith)
    notes = [e for e in control.history() if e.action == "ownership_moved"]
    assert [n.reason.split(":")[0] for n in reversed(notes)] == [
        "ownership move notifications -> notifications (epoch 1)",
        "ownership move notifications -> monolith (epoch 2)",
        "ownership move notifications -> notifications (epoch 3)"]


def _pending(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(pending)) or 0)


def _service_causes(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.scalars(select(notifications.c.source_event_id).where(
            notifications.c.origin == "notifications")))


def _monolith_causes(shop: Shop) -> set[str]:
    with shop.engine.connect() as conn:
        return set(conn.scalars(select(Notification.source_event_id)))
