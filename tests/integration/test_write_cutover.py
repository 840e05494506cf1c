"""The write cutover and its rollback, through the real pipe in both directions.

Monolith and catalog databases (SQLite and PostgreSQL), both relays, both consumers on real
RabbitMQ, the proxy's real control plane with its contract gate. The move pauses the write
routes, fences the old owner, drains, hands over and releases; writes then flow back from the
service into the monolith; moving back restores everything. A gate refusal changes nothing, and
a drain that cannot finish is undone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from pika.adapters.blocking_connection import BlockingChannel
from sqlalchemy import Engine

from extracted.catalog.projection import catalog_consumer
from extracted.catalog.states import ProductCopyStates
from extracted.catalog.tables import outbox as catalog_outbox
from extracted.catalog.writes import ProductWrites, write_ownership
from legacy_monolith.app import Shop
from legacy_monolith.catalog.snapshots import ProductStates
from legacy_monolith.catalog.sync import monolith_consumer
from legacy_monolith.schema import outbox as monolith_outbox
from strangler_cli.contexts import CONTEXTS
from strangler_cli.cutover import ControlDesk, CutoverFailed, Side, WriteCutover
from strangler_cli.databases import DATABASES, upgrade
from strangler_messaging.consumer import ConsumerRunner
from strangler_messaging.db import make_engine
from strangler_messaging.ownership import NotWriteOwner
from strangler_messaging.reconcile import compare
from strangler_messaging.relay import Relay, RelaySettings
from strangler_messaging.topology import Topology
from strangler_proxy.control import GateRefused, RouteControl
from strangler_proxy.gate import VerificationStore
from strangler_proxy.store import RouteStore
from tests.support.waiting import in_thread, wait_until

FIELDS = {"description": "", "currency": "EUR", "active": True}


@pytest.fixture
def control(tmp_path: Path) -> Iterator[RouteControl]:
    url = f"sqlite:///{tmp_path / 'proxy.db'}"
    upgrade(DATABASES["proxy"], url)
    engine = make_engine(url)
    yield RouteControl(RouteStore(engine, ["monolith", "catalog"]), VerificationStore(engine))
    engine.dispose()


def _cutover(shop: Shop, catalog_engine: Engine, control: RouteControl,
             drain_timeout: float = 30.0) -> WriteCutover:
    ctx = CONTEXTS["catalog"]()
    assert ctx.source_ownership is not None and ctx.target_states is not None
    return WriteCutover(
        ctx, Side("monolith", shop.engine, ctx.source_ownership(), ctx.source_states),
        Side("catalog", catalog_engine, write_ownership(), ctx.target_states),
        ControlDesk(control, "test"), settle=0.0, drain_timeout=drain_timeout)


def _verified(control: RouteControl) -> None:
    assert isinstance(control.gate, VerificationStore)
    control.gate.record("catalog", "test", "0" * 64, True,
                        [("POST", "/api/products"), ("PATCH", "/api/products/p1")])


def _create(shop: Shop, n: int) -> str:
    return str(shop.catalog.create_product(
        {"sku": f"C-{n}", "name": f"Product {n}", "price_cents": n, **FIELDS})["id"])


@pytest.fixture
def pipe(shop: Shop, catalog_engine: Engine, amqp_url: str, topology: Topology,
         amqp_channel: BlockingChannel) -> Iterator[None]:
    """Both relays and both consumers running."""
    consumers = [catalog_consumer(catalog_engine), monolith_consumer(shop.engine)]
    for consumer in consumers:
        topology.declare_consumer(amqp_channel, consumer.spec)
    settings = RelaySettings(batch_size=50, idle_poll_max=0.02)
    with ExitStack() as stack:
        for consumer in consumers:
            stack.enter_context(in_thread(ConsumerRunner(consumer, amqp_url, topology=topology)))
        stack.enter_context(in_thread(Relay(shop.engine, monolith_outbox, amqp_url,
                                            topology=topology, settings=settings)))
        stack.enter_context(in_thread(Relay(catalog_engine, catalog_outbox, amqp_url,
                                            topology=topology, settings=settings)))
        yield


def _in_sync(shop: Shop, catalog_engine: Engine) -> bool:
    return compare(ProductStates(shop.engine), ProductCopyStates(catalog_engine)).total == 0


def test_the_gate_refuses_a_move_without_a_passing_verification_and_nothing_changes(
        shop: Shop, catalog_engine: Engine, control: RouteControl) -> None:
    cutover = _cutover(shop, catalog_engine, control)
    with pytest.raises(GateRefused):
        cutover.move("catalog", "first cutover")
    status = cutover.status()
    assert status.owner == "monolith"
    assert {r.epoch for r in status.records.values()} == {0}
    assert status.routes == {"products-create": None, "products-write": None}
    assert _create(shop, 1)  # the monolith still takes writes


def test_writes_move_to_the_service_flow_back_and_move_home_again(
        shop: Shop, catalog_engine: Engine, control: RouteControl, pipe: None) -> None:
    ids = [_create(shop, n) for n in range(5)]
    wait_until(lambda: _in_sync(shop, catalog_engine), message="copy in sync")
    _verified(control)
    cutover = _cutover(shop, catalog_engine, control)

    report = cutover.move("catalog", "reads clean")
    status = cutover.status()
    assert (status.owner, report.epoch) == ("catalog", 1)
    assert {r.epoch for r in status.records.values()} == {1}
    route = status.routes["products-write"]
    assert route is not None and (route["mode"], route["service"], route["fallback"],
                                  route["paused"]) == ("extracted", "catalog", "never", False)
    with pytest.raises(NotWriteOwner):
        shop.catalog.update_product(ids[0], {"price_cents": 999})

    writes = ProductWrites(catalog_engine)
    writes.update_product(ids[0], {"price_cents": 100})
    new = writes.create_product({"sku": "NEW-1", "name": "New", "price_cents": 7, **FIELDS})
    writes.delete_product(ids[1])
    wait_until(lambda: _in_sync(shop, catalog_engine), message="monolith caught up")
    assert shop.catalog.get_product(new["id"]) == new
    assert shop.catalog.get_product(ids[0])["price_cents"] == 100

    back = cutover.move("monolith", "rollback drill")
    assert (cutover.status().owner, back.epoch) == ("monolith", 2)
    assert cutover.status().routes["products-write"]["mode"] == "legacy"  # type: ignore[index]
    with pytest.raises(NotWriteOwner):
        writes.update_product(ids[0], {"price_cents": 1})
    shop.catalog.update_product(new["id"], {"name": "Renamed at home"})
    wait_until(lambda: _in_sync(shop, catalog_engine), message="copy caught up again")
    assert cutover.move("monolith", "again").steps == ["monolith already owns the writes; "
                                                       "nothing to do"]
    history = [e.reason for e in control.history("products-write")]
    assert any("ownership move catalog -> catalog (epoch 1)" in r for r in history)
    assert any("release writes" in r and "epoch 2" in r for r in history)


def test_a_move_whose_drain_cannot_finish_is_undone(
        shop: Shop, catalog_engine: Engine, control: RouteControl) -> None:
    _create(shop, 1)  # no relay runs: the copy never gets it
    _verified(control)
    cutover = _cutover(shop, catalog_engine, control, drain_timeout=0.3)
    with pytest.raises(CutoverFailed, match="undone"):
        cutover.move("catalog", "too early")
    status = cutover.status()
    assert status.owner == "monolith" and {r.epoch for r in status.records.values()} == {2}
    assert {doc["paused"] if doc else False for doc in status.routes.values()} == {False}
    assert _create(shop, 2)
