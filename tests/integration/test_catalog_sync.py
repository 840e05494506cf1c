"""The catalog service's copy, kept through the real pipe, and proved equal by reconcile.

Monolith outbox -> relay -> RabbitMQ -> ``catalog`` consumer (inbox, projection) -> service
database, on SQLite and PostgreSQL. Products that existed before the pipe arrive by backfill;
later creates, updates and deletes arrive as live events. Reconcile then finds no drift,
finds the drift a damaged copy has, and its repair removes it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pika.adapters.blocking_connection import BlockingChannel
from sqlalchemy import Engine, delete, select, update

from extracted.catalog.app import create_app
from extracted.catalog.projection import catalog_consumer
from extracted.catalog.settings import CatalogSettings
from extracted.catalog.states import ProductCopyStates
from extracted.catalog.tables import products
from legacy_monolith.app import Shop
from legacy_monolith.catalog.snapshots import ProductSnapshots, ProductStates
from legacy_monolith.platform.database import backfill_progress
from legacy_monolith.schema import outbox
from strangler_cli.consumers import EVENT_SCHEMAS
from strangler_messaging import OutboxWriter, uuid7
from strangler_messaging.backfill import Backfill
from strangler_messaging.consumer import ConsumerRunner
from strangler_messaging.reconcile import Drift, compare, repair
from strangler_messaging.relay import Relay, RelaySettings
from strangler_messaging.schemas import SchemaRegistry
from strangler_messaging.topology import Topology
from tests.support.waiting import in_thread, wait_until

BEFORE, LIVE = 40, 6


def _create(shop: Shop, n: int) -> str:
    return str(shop.catalog.create_product({
        "sku": f"SKU-{n:04d}", "name": f"Product {n}", "description": "",
        "price_cents": 500 + n, "currency": "EUR", "active": True})["id"])


def _drift(shop: Shop, catalog_engine: Engine) -> Drift:
    return compare(ProductStates(shop.engine), ProductCopyStates(catalog_engine), chunk=16)


def test_backfill_and_live_events_build_a_copy_reconcile_proves_and_repairs(
        shop: Shop, catalog_engine: Engine, amqp_url: str, topology: Topology,
        amqp_channel: BlockingChannel) -> None:
    existing = [_create(shop, n) for n in range(BEFORE)]
    with shop.engine.begin() as conn:  # these products predate the outbox: only backfill knows
        conn.execute(delete(outbox))
    consumer = catalog_consumer(catalog_engine, SchemaRegistry.from_directory(EVENT_SCHEMAS))
    topology.declare_consumer(amqp_channel, consumer.spec)
    relay = Relay(shop.engine, outbox, amqp_url, topology=topology,
                  settings=RelaySettings(batch_size=50, idle_poll_max=0.02))
    writer = OutboxWriter(outbox, source="/shop/monolith", origin="monolith")
    with in_thread(ConsumerRunner(consumer, amqp_url, topology=topology)), in_thread(relay):
        report = Backfill(shop.engine, ProductSnapshots(), writer, backfill_progress,
                          chunk_size=16).run()
        assert (report.emitted, report.finished) == (BEFORE, True)
        created = [_create(shop, BEFORE + n) for n in range(LIVE)]
        shop.catalog.update_product(existing[3], {"name": "Renamed", "price_cents": 1})
        shop.catalog.update_product(existing[3], {"active": False})
        shop.catalog.update_product(created[0], {"description": "now described"})
        shop.catalog.delete_product(existing[7])
        shop.catalog.delete_product(created[1])
        wait_until(lambda: _drift(shop, catalog_engine).total == 0, message="copy in sync")
        drift = _drift(shop, catalog_engine)
        assert drift.compared == BEFORE + LIVE - 2

        service = create_app(CatalogSettings(), engine=catalog_engine).test_client()
        renamed = service.get(f"/api/products/{existing[3]}").json
        assert renamed == shop.catalog.get_product(existing[3])
        assert (renamed["name"], renamed["active"]) == ("Renamed", False)
        assert service.get(f"/api/products/{existing[7]}").status_code == 404

        ghost = str(uuid7())
        with catalog_engine.begin() as conn:  # damage the copy three ways
            conn.execute(delete(products).where(products.c.id == existing[10]))
            conn.execute(update(products).where(products.c.id == existing[11])
                         .values(name="corrupted"))
            now = datetime.now(UTC)
            conn.execute(products.insert().values(
                id=ghost, sku="GHOST", name="Ghost", description="", price_cents=1,
                currency="EUR", active=True, version=3, created_at=now, updated_at=now))
        drift = _drift(shop, catalog_engine)
        assert drift.missing == [existing[10]]
        assert [d.key for d in drift.different] == [existing[11]]
        assert [e.key for e in drift.extra] == [ghost]
        assert repair(shop.engine, ProductSnapshots(), writer, drift) == 3
        wait_until(lambda: _drift(shop, catalog_engine).total == 0, message="repaired")
    with catalog_engine.connect() as conn:
        name = conn.scalar(select(products.c.name).where(products.c.id == existing[11]))
    assert name == "Product 11"
