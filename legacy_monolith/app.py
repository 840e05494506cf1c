"""The composition root of the Shop: settings in, a wired Flask application out.

Nothing here runs at import. :func:`create_app` builds the engine, the unit-of-work factory,
each module's facade and blueprint, connects the modules through their ports and the in-process
event bus, and returns the app. Tests call it with their own :class:`Settings`.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from legacy_monolith.catalog.api import create_blueprint as catalog_api
from legacy_monolith.catalog.facade import CatalogFacade
from legacy_monolith.catalog.ownership import catalog_write_ownership
from legacy_monolith.customers.api import create_blueprint as customers_api
from legacy_monolith.customers.facade import CustomersFacade
from legacy_monolith.inventory.api import create_blueprint as inventory_api
from legacy_monolith.inventory.facade import InventoryFacade
from legacy_monolith.notifications.api import create_blueprint as notifications_api
from legacy_monolith.notifications.events import SUBSCRIBED
from legacy_monolith.notifications.facade import NotificationsFacade
from legacy_monolith.notifications.ownership import (
    notifications_ownership as notifications_ownership_row,
)
from legacy_monolith.orders.api import create_blueprint as orders_api
from legacy_monolith.orders.facade import OrdersFacade
from legacy_monolith.platform.database import make_engine, outbox
from legacy_monolith.platform.event_bus import EventBus
from legacy_monolith.platform.observability import (
    PREFIX,
    ShopCollector,
    health_blueprint,
    install_request_context,
)
from legacy_monolith.platform.settings import Settings
from legacy_monolith.platform.unit_of_work import UnitOfWorkFactory
from legacy_monolith.platform.web import register_error_handlers
from strangler_messaging import OutboxStatus, OutboxWriter, outbox_status
from strangler_messaging.ownership import WriteOwnership

__all__ = ["Shop", "build_shop", "create_app"]


@dataclass(frozen=True, slots=True)
class Shop:
    """The wired modules, for entry points other than HTTP (CLI, seed, tests)."""

    engine: Engine
    uow: UnitOfWorkFactory
    bus: EventBus
    catalog: CatalogFacade
    customers: CustomersFacade
    inventory: InventoryFacade
    orders: OrdersFacade
    notifications: NotificationsFacade
    catalog_ownership: WriteOwnership
    notifications_ownership: WriteOwnership


def build_shop(settings: Settings, engine: Engine | None = None) -> Shop:
    """Wire every module's facade on one engine, event bus and outbox."""
    engine = engine or make_engine(settings.database_url)
    bus = EventBus()
    writer = OutboxWriter(outbox, source=settings.event_source, origin=settings.service_name)
    uow = UnitOfWorkFactory(engine, writer, bus)
    catalog_ownership = catalog_write_ownership()
    catalog_facade = CatalogFacade(uow, catalog_ownership)
    customers_facade = CustomersFacade(uow)
    inventory_facade = InventoryFacade(uow)
    notifications_ownership = notifications_ownership_row()
    notifications_facade = NotificationsFacade(uow, notifications_ownership)
    for event_type in SUBSCRIBED:
        bus.subscribe(event_type, notifications_facade.handle)
    orders_facade = OrdersFacade(uow, customers=customers_facade, catalog=catalog_facade,
                                 stock=inventory_facade)
    return Shop(engine, uow, bus, catalog_facade, customers_facade, inventory_facade,
                orders_facade, notifications_facade, catalog_ownership, notifications_ownership)


def create_app(settings: Settings | None = None, *, shop: Shop | None = None) -> Flask:
    """Build the Shop's Flask application."""
    settings = settings or Settings.from_env()
    shop = shop or build_shop(settings)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.extensions["shop"] = shop

    registry = CollectorRegistry()
    registry.register(ShopCollector(lambda: _read_outbox(shop), shop.bus))
    install_request_context(app, registry, PREFIX)
    register_error_handlers(app)
    app.register_blueprint(health_blueprint(shop.engine, registry))
    app.register_blueprint(catalog_api(shop.catalog))
    app.register_blueprint(customers_api(shop.customers))
    app.register_blueprint(inventory_api(shop.inventory))
    app.register_blueprint(orders_api(shop.orders))
    app.register_blueprint(notifications_api(shop.notifications))
    return app


def _read_outbox(shop: Shop) -> OutboxStatus:
    with shop.uow.read() as session:
        return outbox_status(session, outbox)
