"""``strangler`` commands for the catalog service on real, migrated SQLite databases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import MetaData, update

from extracted.catalog.tables import products
from strangler_cli.main import cli
from strangler_messaging import define_outbox_table
from strangler_messaging.db import make_engine
from strangler_messaging.outbox import row_to_event
from tests.support.catalog_copy import apply_events


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"MONOLITH_DATABASE_URL": f"sqlite:///{tmp_path / 'monolith.db'}",
            "CATALOG_DATABASE_URL": f"sqlite:///{tmp_path / 'catalog.db'}",
            "PROXY_DATABASE_URL": f"sqlite:///{tmp_path / 'proxy.db'}"}


def invoke(env: dict[str, str], *args: str, exit_code: int = 0) -> str:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == exit_code, result.output
    return result.output


def _feed_the_copy(env: dict[str, str]) -> None:
    """What relay + ``strangler run consumer catalog`` do, without the broker."""
    outbox = define_outbox_table(MetaData())
    monolith = make_engine(env["MONOLITH_DATABASE_URL"])
    with monolith.connect() as conn:
        events = [row_to_event(row) for row in conn.execute(
            outbox.select().order_by(outbox.c.position))]
    monolith.dispose()
    catalog = make_engine(env["CATALOG_DATABASE_URL"])
    apply_events(catalog, events)
    catalog.dispose()


def _damage(env: dict[str, str], product_id: str) -> None:
    catalog = make_engine(env["CATALOG_DATABASE_URL"])
    with catalog.begin() as conn:
        conn.execute(update(products).where(products.c.id == product_id).values(price_cents=0))
    catalog.dispose()


def test_reconcile_catalog_reports_no_drift_then_the_damage_then_repairs_it(
        env: dict[str, str]) -> None:
    assert "catalog: at head" in invoke(env, "db", "upgrade", "all")
    invoke(env, "seed", "--products", "6", "--customers", "0")
    assert json.loads(invoke(env, "backfill", "catalog", "--json"))["emitted"] == 6
    _feed_the_copy(env)
    report = json.loads(invoke(env, "reconcile", "catalog", "--json"))
    assert (report["compared"], report["missing"], report["extra"], report["different"]) == (
        6, [], [], [])

    damaged = _first_id(env)
    _damage(env, damaged)
    report = json.loads(invoke(env, "reconcile", "catalog", "--json", exit_code=1))
    assert report["different"] == [damaged] and report["repair_events"] == 0

    repaired = json.loads(invoke(env, "reconcile", "catalog", "--repair", "--json"))
    assert repaired["repair_events"] == 1
    _feed_the_copy(env)
    assert json.loads(invoke(env, "reconcile", "catalog", "--json"))["different"] == []


def _first_id(env: dict[str, str]) -> str:
    catalog = make_engine(env["CATALOG_DATABASE_URL"])
    with catalog.connect() as conn:
        product_id = conn.scalar(products.select().with_only_columns(products.c.id)
                                 .order_by(products.c.id).limit(1))
    catalog.dispose()
    return str(product_id)


def test_the_catalog_commands_have_help_and_the_consumer_is_known() -> None:
    for args in (["run", "catalog", "--help"], ["run", "consumer", "--help"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0 and "Usage:" in result.output, args
    from strangler_cli.consumers import CONSUMERS

    assert "catalog" in CONSUMERS


def test_run_catalog_refuses_an_unmigrated_database(env: dict[str, str]) -> None:
    result = CliRunner().invoke(cli, ["run", "catalog"], env=env)
    assert result.exit_code == 1
    assert "not migrated" in result.output and "strangler db upgrade catalog" in result.output


def test_backfill_and_repair_refuse_once_the_service_owns_the_writes(
        env: dict[str, str]) -> None:
    from legacy_monolith.catalog.ownership import catalog_write_ownership

    invoke(env, "db", "upgrade", "all")
    invoke(env, "seed", "--products", "3", "--customers", "0")
    invoke(env, "backfill", "catalog")
    _feed_the_copy(env)
    monolith = make_engine(env["MONOLITH_DATABASE_URL"])
    with monolith.begin() as conn:
        catalog_write_ownership().hand_over(conn, to="catalog", epoch=1)
    monolith.dispose()
    _damage(env, _first_id(env))  # the service's data now differs from the monolith's

    refused = CliRunner().invoke(cli, ["reconcile", "catalog", "--repair"], env=env)
    assert refused.exit_code == 1 and "owned by catalog (epoch 1)" in refused.output
    assert "strangler ownership move catalog --to monolith" in refused.output
    refused = CliRunner().invoke(cli, ["backfill", "catalog"], env=env)
    assert refused.exit_code == 1 and "a backfill from monolith" in refused.output
    report = json.loads(invoke(env, "reconcile", "catalog", "--json", exit_code=1))
    assert len(report["different"]) == 1 and report["repair_events"] == 0  # reports, no repair
