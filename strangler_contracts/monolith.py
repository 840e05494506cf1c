"""The monolith under verification: the real Shop on a fresh SQLite database."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from sqlalchemy import delete

from legacy_monolith.app import Shop, build_shop, create_app
from legacy_monolith.catalog.models import Product
from legacy_monolith.notifications.models import Notification
from legacy_monolith.platform.settings import Settings
from legacy_monolith.schema import metadata, outbox
from strangler_contracts.notification_events import notification_event_producers
from strangler_contracts.provider import RunningProvider, product_event_producers
from strangler_contracts.serving import serving
from strangler_contracts.states import (
    NOTIFICATIONS_OWNER,
    StateHandler,
    notification_states,
    product_states,
)
from strangler_messaging import uuid7
from strangler_messaging.db import make_engine

PRODUCTS = metadata.tables[Product.__tablename__]
NOTIFICATIONS = metadata.tables[Notification.__tablename__]


class MonolithDatabase:
    """The Shop's own tables as the state handler's store."""

    def __init__(self, shop: Shop) -> None:
        self._shop = shop

    def insert_product(self, row: Mapping[str, Any]) -> None:
        """Store one product row as it is."""
        with self._shop.engine.begin() as conn:
            conn.execute(PRODUCTS.insert().values(**row))

    def insert_notification(self, row: Mapping[str, Any]) -> None:
        """Store one notification, caused by an event of its own."""
        with self._shop.engine.begin() as conn:
            conn.execute(NOTIFICATIONS.insert().values(**row, source_event_id=str(uuid7())))

    def hand_notifications_to(self, params: Mapping[str, Any]) -> None:
        """Make the ``notifications`` ownership row name ``params["owner"]``."""
        owner = str(params["owner"])
        if owner not in ("monolith", "notifications"):
            raise ValueError(f"no side is called {owner!r}")
        with self._shop.engine.begin() as conn:
            self._shop.notifications_ownership.hand_over(conn, to=owner, epoch=1)

    def clear(self) -> None:
        """Empty every table: customers, orders, stock, products, notifications, the outbox and
        the ownership rows (whose absence means the monolith owns everything)."""
        with self._shop.engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(delete(table))


@contextmanager
def running_monolith() -> Iterator[RunningProvider]:
    """The Shop's app served on a loopback port, on a database made for this run."""
    with TemporaryDirectory(prefix="contracts-monolith-") as directory:
        url = f"sqlite:///{Path(directory) / 'monolith.db'}"
        engine = make_engine(url)
        try:
            metadata.create_all(engine)
            settings = Settings(database_url=url)
            shop = build_shop(settings, engine=engine)
            db = MonolithDatabase(shop)
            states = notification_states(product_states(StateHandler(db.clear),
                                                        db.insert_product),
                                         db.insert_notification)
            with serving(create_app(settings, shop=shop)) as base_url:
                yield RunningProvider(
                    backend="monolith", base_url=base_url,
                    states=states.setting(NOTIFICATIONS_OWNER, db.hand_notifications_to),
                    producers={**product_event_producers(shop.catalog, engine, outbox),
                               **notification_event_producers(shop, outbox)})
        finally:
            engine.dispose()
