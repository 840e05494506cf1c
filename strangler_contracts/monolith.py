"""The monolith under verification: the real Shop on a fresh SQLite database."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from sqlalchemy import Engine, delete

from legacy_monolith.app import build_shop, create_app
from legacy_monolith.catalog.models import Product
from legacy_monolith.platform.settings import Settings
from legacy_monolith.schema import metadata, outbox
from strangler_contracts.provider import RunningProvider, product_event_producers
from strangler_contracts.serving import serving
from strangler_contracts.states import ProductStateHandler
from strangler_messaging.db import make_engine

PRODUCTS = metadata.tables[Product.__tablename__]


class MonolithProducts:
    """The monolith's ``catalog_products`` (and its outbox) as a state store."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def insert(self, row: Mapping[str, Any]) -> None:
        """Store one product row as it is."""
        with self._engine.begin() as conn:
            conn.execute(PRODUCTS.insert().values(**row))

    def clear(self) -> None:
        """Delete every product and every outbox row."""
        with self._engine.begin() as conn:
            conn.execute(delete(PRODUCTS))
            conn.execute(delete(outbox))


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
            with serving(create_app(settings, shop=shop)) as base_url:
                yield RunningProvider(
                    backend="monolith", base_url=base_url,
                    states=ProductStateHandler(MonolithProducts(engine)),
                    producers=product_event_producers(shop.catalog, engine, outbox))
        finally:
            engine.dispose()
