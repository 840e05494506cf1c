"""``strangler routes|services|status`` against an admin API served on a real socket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from strangler_cli.main import cli
from strangler_proxy.admin import create_admin_app
from strangler_proxy.control import RouteControl
from strangler_proxy.gate import VerificationStore
from strangler_proxy.store import RouteStore
from tests.support.processes import free_port
from tests.support.proxy_admin import (
    BACKEND_NAMES,
    TOKEN,
    FakeRuntime,
    local_backends,
    migrated_sqlite,
    proxy_engine,
    serving,
)

pytestmark = pytest.mark.timeout(60)
NEW_ROUTE = ("--methods", "get,HEAD", "--path", "/api/products/{id}")


@dataclass
class Served:
    env: dict[str, str]
    gate: VerificationStore
    store: RouteStore

    def run(self, *args: str, env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), env=env or self.env)

    def ok(self, *args: str) -> str:
        result = self.run(*args)
        assert result.exit_code == 0, result.output
        return result.output


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    engine = proxy_engine(migrated_sqlite(tmp_path))
    store, gate = RouteStore(engine, BACKEND_NAMES), VerificationStore(engine)
    runtime = FakeRuntime(breaker_states={"catalog": "open"},
                          stats={"products-read": {"requests": 400, "errors": 4,
                                                   "service_share": 0.1, "legacy_share": 0.9}})
    app = create_admin_app(RouteControl(store, gate), runtime, token=TOKEN,
                           backends=local_backends(), outbox_lag=lambda: {"monolith": 1.5})
    with serving(app) as url:
        yield Served({"STRANGLER_ADMIN_URL": url, "STRANGLER_ADMIN_TOKEN": TOKEN,
                      "USER": "ana"}, gate, store)
    engine.dispose()


def test_every_new_command_has_help() -> None:
    for args in (["routes", "--help"], ["services", "--help"], ["status", "--help"],
                 *(["routes", name, "--help"] for name in (
                     "list", "show", "set", "delete", "rollback", "history", "export",
                     "import"))):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0 and "Usage:" in result.output, args


def test_set_then_list_and_show(served: Served) -> None:
    out = served.ok("routes", "set", "products-read", *NEW_ROUTE, "--reason", "prepare")
    assert out.strip() == "products-read: legacy (table version 1)"
    listing = served.ok("routes", "list")
    assert "table version 1; requests no route matches go to monolith" in listing
    row = next(line for line in listing.splitlines() if line.startswith("products-read"))
    assert row.split() == ["products-read", "GET,HEAD", "/api/products/{id}", "legacy", "-", "-",
                           "client", "safe"]
    doc = json.loads(served.ok("routes", "list", "--json"))
    assert [r["id"] for r in doc["routes"]] == ["products-read"]
    assert "mode: legacy" in served.ok("routes", "show", "products-read")
    shown = json.loads(served.ok("routes", "show", "products-read", "--json"))
    assert shown["route"]["methods"] == ["GET", "HEAD"]
    missing = served.run("routes", "show", "nope")
    assert missing.exit_code == 1 and "no route nope (route_not_found, HTTP 404)" in missing.output


def test_a_refused_flip_exits_4_with_the_reason_and_force_overrides(served: Served) -> None:
    served.ok("routes", "set", "products-read", *NEW_ROUTE, "--reason", "prepare")
    refused = served.run("routes", "set", "products-read", "--mode", "canary", "--service",
                         "catalog", "--percent", "10", "--reason", "canary 10%")
    assert refused.exit_code == 4
    assert "no verification recorded for catalog (gate_refused, HTTP 409)" in refused.output
    assert served.store.load().get("products-read").mode == "legacy"  # type: ignore[union-attr]
    forced = served.ok("routes", "set", "products-read", "--mode", "canary", "--service",
                       "catalog", "--percent", "10", "--reason", "drill", "--force")
    assert "FORCED past the contract gate (audited): no verification recorded" in forced
    history = json.loads(served.ok("routes", "history", "--json"))["items"]
    assert [(e["action"], e["forced"], e["actor"], e["source"]) for e in history[:2]] == [
        ("set", True, "ana", "cli"), ("refused", False, "ana", "cli")]


def test_a_verified_canary_with_a_sticky_key_and_partial_updates(served: Served) -> None:
    served.gate.record("catalog", "1.4.0", "abc123", True, [("GET", "/api/products/01J")])
    out = served.ok("routes", "set", "products-read", *NEW_ROUTE, "--mode", "canary",
                    "--service", "catalog", "--percent", "12.5", "--sticky-key",
                    "header:X-Customer-ID", "--reason", "canary", "--actor", "bo")
    assert out.strip() == "products-read: canary catalog 12.50% (table version 1)"
    served.ok("routes", "set", "products-read", "--percent", "50", "--reason", "going well")
    route = json.loads(served.ok("routes", "show", "products-read", "--json"))["route"]
    assert (route["percent_bps"], route["sticky_key"], route["path"]) == (
        5000, "header:X-Customer-ID", "/api/products/{id}")
    back = json.loads(served.ok("routes", "set", "products-read", "--mode", "legacy",
                                "--reason", "pause", "--json"))
    assert back["route"]["service"] is None and back["route"]["percent_bps"] == 0
    assert served.store.history()[-1].actor == "bo"


@pytest.mark.parametrize(("args", "message"), [
    (("--percent", "10.005"), "more than two decimals"),
    (("--percent", "101"), "0<=x<=100"),
    (("--mode", "sideways"), "'sideways' is not one of"),
])
def test_bad_options_exit_2(served: Served, args: tuple[str, ...], message: str) -> None:
    result = served.run("routes", "set", "products-read", *NEW_ROUTE, *args, "--reason", "r")
    assert result.exit_code == 2 and message in result.output
    assert served.store.version() == 0


def test_a_new_route_needs_methods_and_path(served: Served) -> None:
    result = served.run("routes", "set", "products-read", "--mode", "legacy", "--reason", "r")
    assert result.exit_code == 2 and "give --methods and --path" in result.output
    missing_reason = served.run("routes", "set", "products-read", *NEW_ROUTE)
    assert missing_reason.exit_code == 2 and "--reason" in missing_reason.output


def test_an_invalid_route_exits_1_with_the_servers_message(served: Served) -> None:
    result = served.run("routes", "set", "products-read", "--methods", "GET", "--path",
                        "api/products", "--reason", "r")
    assert result.exit_code == 1
    assert "path must start with / (invalid_route, HTTP 422)" in result.output


def test_rollback_and_history(served: Served) -> None:
    served.ok("routes", "set", "products-read", *NEW_ROUTE, "--reason", "prepare")
    served.ok("routes", "set", "products-read", "--mode", "shadow", "--service", "catalog",
              "--reason", "mirror")
    out = served.ok("routes", "rollback", "products-read", "--reason", "mismatches")
    assert out.strip() == "rolled back: products-read: legacy (table version 3)"
    again = json.loads(served.ok("routes", "rollback", "products-read", "--reason", "redo",
                                 "--json"))
    assert again["route"]["mode"] == "shadow"
    table = served.ok("routes", "history", "--route", "products-read", "--limit", "3")
    lines = table.splitlines()
    assert lines[0].split()[:6] == ["#", "AT", "ACTOR", "SOURCE", "ACTION", "ROUTE"]
    assert "legacy -> shadow catalog 0% (mirrored)" in lines[1] and "redo" in lines[1]
    assert "rollback" in lines[2] and len(lines) == 4
    nothing = served.run("routes", "rollback", "nope", "--reason", "r")
    assert nothing.exit_code == 1 and "no recorded change" in nothing.output


def test_delete(served: Served) -> None:
    served.ok("routes", "set", "products-read", *NEW_ROUTE, "--reason", "prepare")
    out = served.ok("routes", "delete", "products-read", "--reason", "done")
    assert "removed: its requests go to the legacy backend" in out
    assert served.store.load().routes == []


def test_export_and_import_round_trip(served: Served, tmp_path: Path) -> None:
    served.ok("routes", "set", "products-read", *NEW_ROUTE, "--reason", "prepare")
    exported = tmp_path / "routes.yaml"
    served.ok("routes", "export", "-o", str(exported))
    assert yaml.safe_load(exported.read_text())["routes"][0]["id"] == "products-read"
    served.ok("routes", "delete", "products-read", "--reason", "oops")
    out = served.ok("routes", "import", str(exported), "--reason", "restore")
    assert out.strip() == "set products-read; removed none (table version 3)"
    assert "nothing changed (table version 3)" in served.ok(
        "routes", "import", str(exported), "--reason", "again")
    bad = tmp_path / "bad.yaml"
    bad.write_text("routes: {}\n")
    failed = served.run("routes", "import", str(bad), "--reason", "r")
    assert failed.exit_code == 1 and "top-level routes" in failed.output


def test_services_and_status(served: Served) -> None:
    services = served.ok("services")
    catalog = next(line for line in services.splitlines() if line.startswith("catalog"))
    assert "DOWN (ConnectError" in catalog and catalog.rstrip().endswith("open")
    assert {s["name"] for s in json.loads(served.ok("services", "--json"))["services"]} == {
        "monolith", "catalog", "notifications"}
    served.gate.record("catalog", "1.4.0", "abc123", True, [("GET", "/api/products/01J")])
    served.ok("routes", "set", "products-read", *NEW_ROUTE, "--mode", "canary", "--service",
              "catalog", "--percent", "10", "--reason", "canary")
    status = served.ok("status")
    assert "route table version 1: legacy 0, shadow 0, canary 1, extracted 0" in status
    assert "requests 400 (0 of no route), errors 1.00%, answered by services 10.00%" in status
    assert "breakers: catalog open" in status and "outbox lag: monolith 1.50 s" in status
    doc = json.loads(served.ok("status", "--json"))
    assert doc["routes"][0]["error_rate"] == 0.01


def test_a_wrong_token_and_a_silent_admin_api_get_clear_messages(served: Served) -> None:
    wrong = served.run("routes", "list", env={**served.env, "STRANGLER_ADMIN_TOKEN": "nope"})
    assert wrong.exit_code == 1
    assert "the admin token is not valid (forbidden, HTTP 403)" in wrong.output
    none = served.run("routes", "list", env={**served.env, "STRANGLER_ADMIN_TOKEN": ""})
    assert none.exit_code == 1 and "STRANGLER_ADMIN_TOKEN" in none.output
    down = f"http://127.0.0.1:{free_port()}"
    for args in (("routes", "list"), ("status",), ("services",)):
        result = served.run(*args, env={**served.env, "STRANGLER_ADMIN_URL": down})
        assert result.exit_code == 3, result.output
        assert f"the admin API does not answer at {down}" in result.output
        assert "strangler run proxy" in result.output
