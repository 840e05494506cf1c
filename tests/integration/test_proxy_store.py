"""The route store, the verification store and route control on SQLite and PostgreSQL:
every change validated, versioned and audited in one transaction, or not at all."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Engine

from strangler_proxy import tables
from strangler_proxy.control import GateRefused, RouteControl, RouteNotFound
from strangler_proxy.gate import VerificationStore
from strangler_proxy.routes import Mode, Route, RouteError
from strangler_proxy.store import Change, RouteStore, count_rows
from tests.support.proxy_admin import (
    BACKEND_NAMES,
    canary,
    emptied,
    migrated_postgres,
    migrated_sqlite,
    products_read,
    proxy_engine,
)

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def postgres_proxy_url(postgres_admin: Engine) -> Iterator[str]:
    with migrated_postgres(postgres_admin) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = migrated_sqlite(tmp_path)
    else:
        url = emptied(request.getfixturevalue("postgres_proxy_url"))
    engine = proxy_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine: Engine) -> RouteStore:
    return RouteStore(engine, BACKEND_NAMES)


@pytest.fixture
def gate(engine: Engine) -> VerificationStore:
    return VerificationStore(engine)


@pytest.fixture
def control(store: RouteStore, gate: VerificationStore) -> RouteControl:
    return RouteControl(store, gate)


def set_(store: RouteStore, *routes: Route, reason: str = "test") -> int:
    return store.change([Change(r.id, r) for r in routes], actor="ana", source="cli",
                        action="set", reason=reason)


def test_a_change_is_stored_versioned_and_audited(store: RouteStore) -> None:
    assert store.version() == 0
    assert set_(store, products_read(), reason="prepare the extraction") == 1
    table = store.load()
    assert (table.version, table.get("products-read")) == (1, products_read())
    [entry] = store.history()
    assert (entry.actor, entry.source, entry.action, entry.route_id, entry.reason) == (
        "ana", "cli", "set", "products-read", "prepare the extraction")
    assert entry.before is None and entry.after == products_read().to_dict()
    assert entry.table_version == 1 and not entry.forced


def test_one_change_of_several_routes_bumps_the_version_once(store: RouteStore) -> None:
    listing = Route("products-list", frozenset({"GET"}), "/api/products")
    set_(store, products_read())
    assert set_(store, products_read(mode=Mode.SHADOW, service="catalog"), listing) == 2
    assert [e.table_version for e in store.history()] == [2, 2, 1]
    assert {r.id for r in store.load().routes} == {"products-read", "products-list"}


@pytest.mark.parametrize(("bad", "message"), [
    (Route("products-any", frozenset({"GET"}), "/api/products/{sku}"), "ambiguous"),
    (Route("billing", frozenset({"GET"}), "/api/bills", Mode.SHADOW, "billing"),
     "unknown backend"),
    (Route("Bad Id", frozenset({"GET"}), "/api/x"), "route id"),
])
def test_an_invalid_change_writes_nothing(store: RouteStore, engine: Engine, bad: Route,
                                          message: str) -> None:
    set_(store, products_read())
    listing = Route("products-list", frozenset({"GET"}), "/api/products")
    with pytest.raises(RouteError, match=message):
        set_(store, listing, bad)  # the valid half of the change is not written either
    assert store.version() == 1
    assert [r.id for r in store.load().routes] == ["products-read"]
    assert count_rows(engine, tables.audit) == 1


def test_a_change_needs_a_reason(store: RouteStore) -> None:
    with pytest.raises(RouteError, match="needs a reason"):
        set_(store, products_read(), reason="  ")
    assert store.version() == 0 and store.history() == []


def test_history_is_newest_first_filtered_and_limited(store: RouteStore) -> None:
    listing = Route("products-list", frozenset({"GET"}), "/api/products")
    set_(store, products_read(), reason="one")
    set_(store, listing, reason="two")
    store.note(actor="breaker", source="breaker", action="breaker_open",
               route_id="products-read", reason="catalog: 5 consecutive 5xx")
    set_(store, products_read(mode=Mode.SHADOW, service="catalog"), reason="three")
    assert [e.reason for e in store.history()] == [
        "three", "catalog: 5 consecutive 5xx", "two", "one"]
    assert [e.reason for e in store.history(route_id="products-read", limit=2)] == [
        "three", "catalog: 5 consecutive 5xx"]
    last = store.last_change("products-read")  # notes change no route
    assert last is not None and last.reason == "three"


def _concurrently(*changes: Callable[[], object]) -> list[BaseException]:
    errors: list[BaseException] = []

    def run(change: Callable[[], object]) -> None:
        try:
            change()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(c,)) for c in changes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return errors


def test_concurrent_changes_get_distinct_versions(
        engine: Engine, store: RouteStore) -> None:
    versions: list[int] = []

    def add(n: int) -> None:
        versions.append(set_(store, Route(f"r{n}", frozenset({"GET"}), f"/api/r{n}")))

    errors = _concurrently(*(partial(add, n) for n in range(8)))
    assert not errors, errors
    assert sorted(versions) == list(range(1, 9))
    assert store.version() == 8 and len(store.load().routes) == 8


def test_concurrent_changes_never_store_an_ambiguous_table(
        engine: Engine, store: RouteStore) -> None:
    set_(store, products_read())
    for n in range(5):
        by_id = Route(f"x{n}-by-id", frozenset({"GET"}), f"/api/x{n}/{{id}}")
        by_sku = Route(f"x{n}-by-sku", frozenset({"GET"}), f"/api/x{n}/{{sku}}")
        errors = _concurrently(partial(set_, store, by_id), partial(set_, store, by_sku))
        table = store.load()  # raises RouteError if both were written
        assert len(errors) == 1 and isinstance(errors[0], RouteError)
        assert len([r for r in table.routes if r.id.startswith(f"x{n}-")]) == 1


def test_rollback_restores_and_rolling_back_twice_restores_again(
        control: RouteControl, store: RouteStore) -> None:
    control.set_route(products_read(), "ana", "prepare")
    shadow = products_read(mode=Mode.SHADOW, service="catalog")
    control.set_route(shadow, "ana", "mirror reads")
    first = control.rollback("products-read", "bo", "mismatches too high")
    assert first.route == products_read() and store.load().get("products-read") == products_read()
    second = control.rollback("products-read", "bo", "false alarm")
    assert second.route == shadow and store.load().get("products-read") == shadow
    actions = [(e.action, e.actor, e.table_version) for e in store.history()]
    assert actions[:2] == [("rollback", "bo", 4), ("rollback", "bo", 3)]


def test_rolling_back_a_new_route_deletes_it(control: RouteControl, store: RouteStore) -> None:
    control.set_route(products_read(), "ana", "prepare")
    applied = control.rollback("products-read", "ana", "not yet")
    assert applied.route is None and store.load().get("products-read") is None
    with pytest.raises(RouteNotFound, match="no recorded change"):
        control.rollback("products-list", "ana", "nothing there")


def test_verifications_newest_decides(gate: VerificationStore) -> None:
    assert gate.latest("catalog") is None
    gate.record("catalog", "1.0.0", "aaa", True, [("get", "/api/products/01J")])
    newest = gate.record("catalog", "1.1.0", "bbb", False, [("GET", "/api/products/01J")])
    gate.record("notifications", "2.0.0", "ccc", True, [])
    latest = gate.latest("catalog")
    assert latest == newest and latest.requests == (("GET", "/api/products/01J"),)
    assert gate.check(canary()).reason == (
        "latest verification of catalog (version 1.1.0, pact bbb) failed")
    gate.record("catalog", "1.1.1", "ccc", True, [("GET", "/api/products/01J")])
    assert gate.check(canary()).allowed


@pytest.mark.parametrize(("requests", "message"), [
    ([("BREW", "/api/x")], "unknown method"), ([("GET", "api/x")], "must start with /")])
def test_a_malformed_verification_is_not_recorded(
        gate: VerificationStore, engine: Engine, requests: list[tuple[str, str]],
        message: str) -> None:
    with pytest.raises(ValueError, match=message):
        gate.record("catalog", "1.0.0", "aaa", True, requests)
    assert count_rows(engine, tables.verifications) == 0


def test_a_refused_flip_is_audited_and_changes_nothing(
        control: RouteControl, store: RouteStore) -> None:
    control.set_route(products_read(), "ana", "prepare")
    with pytest.raises(GateRefused, match="no verification recorded for catalog"):
        control.set_route(canary(), "ana", "canary 10%")
    assert store.load().get("products-read") == products_read() and store.version() == 1
    refusal = store.history()[0]
    assert (refusal.action, refusal.table_version, refusal.forced) == ("refused", None, False)
    assert "no verification recorded for catalog" in refusal.reason
    assert "canary 10%" in refusal.reason


def test_a_forced_flip_is_audited_as_forced(control: RouteControl, store: RouteStore) -> None:
    with pytest.raises(RouteError, match="forcing past the gate needs a reason"):
        control.set_route(canary(), "ana", "", force=True)
    applied = control.set_route(canary(), "ana", "incident 42: catalog verified by hand",
                                force=True)
    assert applied.forced and store.load().get("products-read") == canary()
    entry = store.history()[0]
    assert entry.forced and entry.action == "set"
    assert entry.reason == ("incident 42: catalog verified by hand [forced past the gate: "
                            "no verification recorded for catalog]")
