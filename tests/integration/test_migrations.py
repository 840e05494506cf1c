"""Every Alembic environment (monolith, proxy) on SQLite and PostgreSQL.

Upgrade to head builds exactly the schema the models declare (autogenerate finds nothing to
do), and downgrade to base removes every table again.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, inspect

from extracted.catalog.tables import metadata as catalog_metadata
from extracted.notifications.tables import metadata as notifications_metadata
from legacy_monolith.schema import metadata as monolith_metadata
from strangler_cli.databases import DATABASES, Database, downgrade, upgrade
from strangler_messaging.db import make_engine
from strangler_proxy.tables import metadata as proxy_metadata

MONOLITH = DATABASES["monolith"]
ENVIRONMENTS = {"monolith": monolith_metadata, "proxy": proxy_metadata,
                "catalog": catalog_metadata, "notifications": notifications_metadata}


def test_every_database_is_checked_here() -> None:
    assert set(ENVIRONMENTS) == set(DATABASES)


@pytest.fixture(params=sorted(ENVIRONMENTS))
def environment(request: pytest.FixtureRequest) -> tuple[Database, MetaData]:
    return DATABASES[request.param], ENVIRONMENTS[request.param]


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
    else:
        yield request.getfixturevalue("fresh_postgres_url")


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_creates_every_model_table(
        empty_database_url: str, environment: tuple[Database, MetaData]) -> None:
    database, metadata = environment
    upgrade(database, empty_database_url)
    assert _tables(empty_database_url) == set(metadata.tables) | {"alembic_version"}


def test_models_and_migrations_do_not_differ(
        empty_database_url: str, environment: tuple[Database, MetaData]) -> None:
    database, metadata = environment
    upgrade(database, empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert diff == [], f"models and migrations differ; add a revision: {diff}"


def test_downgrade_to_base_removes_every_table(
        empty_database_url: str, environment: tuple[Database, MetaData]) -> None:
    database, _ = environment
    upgrade(database, empty_database_url)
    downgrade(database, empty_database_url)
    assert _tables(empty_database_url) == {"alembic_version"}


def test_upgrade_is_idempotent(empty_database_url: str) -> None:
    upgrade(MONOLITH, empty_database_url)
    upgrade(MONOLITH, empty_database_url)
    assert "outbox" in _tables(empty_database_url)


def test_the_comparison_notices_a_model_change(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'drift.db'}"
    upgrade(MONOLITH, url)
    changed = MetaData()
    for table in monolith_metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["catalog_products"].append_column(Column("weight_grams", Integer))
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), changed)
    finally:
        engine.dispose()
    assert [d[0] for d in diff] == ["add_column"]
