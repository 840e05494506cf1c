"""Fixtures shared by the integration tests of the extracted services."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from strangler_cli.databases import DATABASES, upgrade
from strangler_messaging.db import make_engine
from tests.support.catalog_copy import migrated_catalog_url


@pytest.fixture
def catalog_engine(request: pytest.FixtureRequest, shop_database_url: str,
                   tmp_path: Path) -> Iterator[Engine]:
    """The catalog service's database, migrated, on the same kind of database as the shop's."""
    kind = "sqlite" if shop_database_url.startswith("sqlite") else "postgresql"
    for url in migrated_catalog_url(request, kind, tmp_path):
        engine = make_engine(url)
        yield engine
        engine.dispose()


@pytest.fixture
def notifications_engine(request: pytest.FixtureRequest, shop_database_url: str,
                         tmp_path: Path) -> Iterator[Engine]:
    """The notifications service's database, migrated, on the shop's kind of database."""
    if shop_database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'notifications.db'}"
    else:
        url = request.getfixturevalue("fresh_postgres_url")
    upgrade(DATABASES["notifications"], url)
    engine = make_engine(url)
    yield engine
    engine.dispose()
