"""The catalog service under verification: the real service, owning product writes, on a
fresh SQLite database."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from sqlalchemy import Engine, delete

from extracted.catalog.app import create_app
from extracted.catalog.settings import CatalogSettings
from extracted.catalog.tables import metadata, outbox, products
from extracted.catalog.writes import ProductWrites as ServiceWrites
from extracted.catalog.writes import claim_writes
from strangler_contracts.provider import RunningProvider, product_event_producers
from strangler_contracts.serving import serving
from strangler_contracts.states import StateHandler, product_states
from strangler_messaging.db import make_engine


class CatalogProducts:
    """The service's ``catalog_products`` (and its outbox) as a state store."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def insert(self, row: Mapping[str, Any]) -> None:
        """Store one product row as it is."""
        with self._engine.begin() as conn:
            conn.execute(products.insert().values(**row))

    def clear(self) -> None:
        """Delete every product and every outbox row."""
        with self._engine.begin() as conn:
            conn.execute(delete(products))
            conn.execute(delete(outbox))


@contextmanager
def running_catalog() -> Iterator[RunningProvider]:
    """The catalog service's app served on a loopback port, as the write owner of products."""
    with TemporaryDirectory(prefix="contracts-catalog-") as directory:
        url = f"sqlite:///{Path(directory) / 'catalog.db'}"
        engine = make_engine(url)
        try:
            metadata.create_all(engine)
            claim_writes(engine)
            settings = CatalogSettings(database_url=url)
            writes = ServiceWrites(engine, source=settings.event_source)
            store = CatalogProducts(engine)
            with serving(create_app(settings, engine=engine)) as base_url:
                yield RunningProvider(
                    backend="catalog", base_url=base_url,
                    states=product_states(StateHandler(store.clear), store.insert),
                    producers=product_event_producers(writes, engine, outbox))
        finally:
            engine.dispose()
