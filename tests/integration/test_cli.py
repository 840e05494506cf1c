"""The ``strangler`` commands of the foundation, run through click on a real database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from strangler_cli.main import cli


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"MONOLITH_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
            "CATALOG_DATABASE_URL": f"sqlite:///{tmp_path / 'catalog.db'}",
            "PROXY_DATABASE_URL": f"sqlite:///{tmp_path / 'proxy.db'}"}


def monolith_status(output: str) -> dict[str, object]:
    [status] = [s for s in json.loads(output) if s["database"] == "monolith"]
    return status  # type: ignore[no-any-return]


def invoke(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_every_subcommand_has_help() -> None:
    for args in (["--help"], ["run", "--help"], ["run", "monolith", "--help"],
                 ["db", "upgrade", "--help"], ["seed", "--help"],
                 ["outbox", "status", "--help"], ["demo", "--help"], ["backfill", "--help"],
                 ["reconcile", "--help"], ["dlq", "list", "--help"], ["dlq", "replay", "--help"],
                 ["run", "relay", "--help"], ["run", "consumer", "--help"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0 and "Usage:" in result.output, args


def test_upgrade_seed_and_outbox_status(env: dict[str, str]) -> None:
    assert "monolith: at head" in invoke(env, "db", "upgrade", "all")
    assert "added 5 products and 3 customers" in invoke(
        env, "seed", "--products", "5", "--customers", "3")
    status = monolith_status(invoke(env, "outbox", "status", "--json"))
    # 5 products created, 5 stock counts, 3 registrations, 3 handling decisions, 3 welcome
    # notifications
    assert status["database"] == "monolith"
    assert status["pending"] == 19 and status["published"] == 0
    assert status["oldest_pending_age_seconds"] >= 0
    assert status["written_per_second"] == round(19 / 60, 2)
    assert status["published_per_second"] == 0


def test_seed_is_idempotent(env: dict[str, str]) -> None:
    invoke(env, "db", "upgrade", "monolith")
    invoke(env, "seed", "--products", "4", "--customers", "2")
    assert "added 0 products and 0 customers" in invoke(
        env, "seed", "--products", "4", "--customers", "2")
    status = monolith_status(invoke(env, "outbox", "status", "--json"))
    assert status["pending"] == 4 + 4 + 2 + 2 + 2


def test_unknown_database_is_refused(env: dict[str, str]) -> None:
    result = CliRunner().invoke(cli, ["db", "upgrade", "nope"], env=env)
    assert result.exit_code == 2 and "unknown database 'nope'" in result.output


def test_backfill_catalog_emits_a_valid_snapshot_per_product(env: dict[str, str]) -> None:
    from legacy_monolith.schema import outbox
    from strangler_messaging.db import make_engine
    from strangler_messaging.outbox import row_to_event
    from tests.support.contracts import event_validator

    invoke(env, "db", "upgrade", "monolith")
    invoke(env, "seed", "--products", "7", "--customers", "0")
    report = json.loads(invoke(env, "backfill", "catalog", "--chunk-size", "3", "--json"))
    assert (report["emitted"], report["chunks"], report["finished"]) == (7, 3, True)
    engine = make_engine(env["MONOLITH_DATABASE_URL"])
    with engine.connect() as conn:
        rows = conn.execute(outbox.select().where(outbox.c.type == "catalog.product.snapshot.v1"))
        snapshots = [row_to_event(row) for row in rows]
    engine.dispose()
    assert len(snapshots) == 7
    for event in snapshots:
        event_validator(event.type).validate(event)


def test_reconcile_refuses_an_unmigrated_side(env: dict[str, str]) -> None:
    invoke(env, "db", "upgrade", "monolith")
    result = CliRunner().invoke(cli, ["reconcile", "catalog"], env=env)
    assert result.exit_code == 1
    assert "database catalog is not migrated" in result.output


def test_commands_refuse_an_unmigrated_database(env: dict[str, str]) -> None:
    for args in (["outbox", "status", "--db", "monolith"], ["seed"], ["backfill", "catalog"]):
        result = CliRunner().invoke(cli, args, env=env)
        assert result.exit_code == 1, args
        assert "not migrated" in result.output and "strangler db upgrade monolith" in (
            result.output)


def test_the_proxy_refuses_to_start_with_an_unprotected_admin_api(
        env: dict[str, str], tmp_path: Path) -> None:
    env = {**env, "PROXY_DATABASE_URL": f"sqlite:///{tmp_path / 'proxy.db'}",
           "STRANGLER_ADMIN_TOKEN": ""}
    invoke(env, "db", "upgrade", "proxy")
    result = CliRunner().invoke(cli, ["run", "proxy"], env=env)
    assert result.exit_code == 1 and "STRANGLER_ADMIN_TOKEN is not set" in result.output
    result = CliRunner().invoke(cli, ["run", "proxy", "--dev", "--admin-host", "0.0.0.0"],
                                env=env)
    assert result.exit_code == 1 and "loopback only" in result.output


def test_outbox_status_skips_databases_that_are_not_deployed(env: dict[str, str]) -> None:
    invoke(env, "db", "upgrade", "monolith")
    output = invoke(env, "outbox", "status")
    assert "catalog: not migrated, skipped" in output and "monolith" in output
