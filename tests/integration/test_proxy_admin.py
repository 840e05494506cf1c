"""The admin API served on a real socket, on SQLite and PostgreSQL proxy databases."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from flask import Flask, Response
from sqlalchemy import Engine

from strangler_proxy import tables
from strangler_proxy.admin import create_admin_app
from strangler_proxy.backends import Backend
from strangler_proxy.control import RouteControl
from strangler_proxy.gate import VerificationStore
from strangler_proxy.store import RouteStore, count_rows
from tests.support.proxy_admin import (
    BACKEND_NAMES,
    TOKEN,
    FakeRuntime,
    emptied,
    local_backends,
    migrated_postgres,
    migrated_sqlite,
    proxy_engine,
    serving,
)

pytestmark = pytest.mark.timeout(60)
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LEGACY_READ = {"methods": ["GET", "HEAD"], "path": "/api/products/{id}"}
CANARY_READ = {**LEGACY_READ, "mode": "canary", "service": "catalog", "percent_bps": 1000}


@dataclass
class Admin:
    url: str
    http: httpx.Client
    engine: Engine
    store: RouteStore
    gate: VerificationStore
    runtime: FakeRuntime

    def put(self, route_id: str, body: dict[str, Any]) -> httpx.Response:
        return self.http.put(f"/admin/routes/{route_id}", json=body)

    def audit_rows(self) -> int:
        return count_rows(self.engine, tables.audit)

    def verify_catalog(self, passed: bool = True) -> None:
        self.gate.record("catalog", "1.4.0", "abc123", passed, [("GET", "/api/products/01J")])


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


def start(stack: ExitStack, engine: Engine, *, token: str | None = TOKEN,
          runtime: FakeRuntime | None = None, backends: dict[str, Backend] | None = None,
          outbox_lag: Callable[[], dict[str, float]] | None = None) -> Admin:
    store, gate = RouteStore(engine, BACKEND_NAMES), VerificationStore(engine)
    runtime = runtime or FakeRuntime()
    app = create_admin_app(RouteControl(store, gate), runtime, token=token,
                           backends=backends or local_backends(), outbox_lag=outbox_lag,
                           max_body_bytes=64 * 1024)
    url = stack.enter_context(serving(app))
    http = stack.enter_context(httpx.Client(base_url=url, headers=AUTH if token else {},
                                            timeout=10))
    return Admin(url, http, engine, store, gate, runtime)


@pytest.fixture
def admin(engine: Engine) -> Iterator[Admin]:
    with ExitStack() as stack:
        yield start(stack, engine)


def error(response: httpx.Response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"])
    return dict(body["error"])


# -- auth ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/admin/routes"), ("PUT", "/admin/routes/x"), ("POST", "/admin/import"),
    ("GET", "/admin/status"), ("GET", "/metrics"), ("POST", "/admin/notes"),
    ("GET", "/no/such/path")])
def test_every_endpoint_but_healthz_needs_the_token(admin: Admin, method: str,
                                                    path: str) -> None:
    missing = httpx.request(method, admin.url + path)
    assert error(missing, 401)["code"] == "unauthorized"
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    basic = httpx.request(method, admin.url + path, headers={"Authorization": f"Basic {TOKEN}"})
    assert error(basic, 401)["code"] == "unauthorized"
    wrong = httpx.request(method, admin.url + path,
                          headers={"Authorization": f"Bearer {TOKEN}x"})
    assert error(wrong, 403)["code"] == "forbidden"
    assert admin.audit_rows() == 0


def test_the_right_token_is_let_in_and_healthz_is_open(admin: Admin) -> None:
    assert admin.http.get("/admin/routes").status_code == 200
    health = httpx.get(admin.url + "/healthz")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert health.headers["Cache-Control"] == "no-store"


def test_dev_mode_skips_auth_but_answers_loopback_host_names_only(engine: Engine) -> None:
    with ExitStack() as stack:
        dev = start(stack, engine, token=None)
        assert httpx.get(dev.url + "/admin/routes").status_code == 200
        rebound = httpx.get(dev.url + "/admin/routes", headers={"Host": "evil.example:8001"})
        assert "loopback" in error(rebound, 403)["message"]
    with pytest.raises(ValueError, match="empty admin token"):
        create_admin_app(RouteControl(RouteStore(engine, BACKEND_NAMES),
                                      VerificationStore(engine)), FakeRuntime(), token=" ")


# -- routes ----------------------------------------------------------------------------------

def test_put_creates_then_list_and_show_return_the_route(admin: Admin) -> None:
    created = admin.put("products-read", {**LEGACY_READ, "reason": "prepare"})
    assert created.status_code == 200, created.text
    body = created.json()
    assert body["table_version"] == 1 and body["changed"] and not body["forced"]
    assert body["route"]["mode"] == "legacy" and body["route"]["methods"] == ["GET", "HEAD"]
    listing = admin.http.get("/admin/routes").json()
    assert listing["table_version"] == 1 and listing["default_backend"] == "monolith"
    assert [r["id"] for r in listing["routes"]] == ["products-read"]
    shown = admin.http.get("/admin/routes/products-read").json()
    assert shown["route"] == body["route"]
    assert error(admin.http.get("/admin/routes/nope"), 404)["code"] == "route_not_found"
    again = admin.put("products-read", {**LEGACY_READ, "reason": "same again"})
    assert again.json()["changed"] is False and again.json()["table_version"] == 1


def test_actor_and_source_are_audited(admin: Admin) -> None:
    admin.http.put("/admin/routes/products-read", json={**LEGACY_READ, "reason": "r"},
                   headers={"X-Strangler-Actor": "ana", "X-Strangler-Source": "cli"})
    admin.put("products-list", {"methods": ["GET"], "path": "/api/products", "reason": "r",
                                "actor": "bo"})
    items = admin.http.get("/admin/history").json()["items"]
    assert [(e["actor"], e["source"]) for e in items] == [("bo", "api"), ("ana", "cli")]
    bad = admin.http.put("/admin/routes/x", json={**LEGACY_READ, "reason": "r"},
                         headers={"X-Strangler-Source": "breaker"})
    assert error(bad, 422)["code"] == "invalid_request"


def test_notes_are_audited_with_their_actor_and_need_an_action_and_a_reason(
        admin: Admin) -> None:
    noted = admin.http.post("/admin/notes", json={
        "action": "ownership_moved", "reason": "catalog -> catalog (epoch 1)"},
        headers={"X-Strangler-Actor": "ana", "X-Strangler-Source": "cli"})
    assert (noted.status_code, noted.json()) == (201, {"noted": "ownership_moved"})
    for bad in ({"action": "Ownership Moved", "reason": "r"}, {"action": "x" * 33, "reason": "r"},
                {"reason": "r"}):
        assert error(admin.http.post("/admin/notes", json=bad), 422)["code"] == "invalid_request"
    no_reason = admin.http.post("/admin/notes", json={"action": "ownership_moved"})
    assert error(no_reason, 422)["code"] == "reason_required"
    [entry] = admin.http.get("/admin/history").json()["items"]
    assert (entry["action"], entry["actor"], entry["source"], entry["reason"]) == (
        "ownership_moved", "ana", "cli", "catalog -> catalog (epoch 1)")
    assert entry["route_id"] is None


@pytest.mark.parametrize(("body", "code", "message"), [
    ({**LEGACY_READ}, "reason_required", "needs a reason"),
    ({**LEGACY_READ, "reason": "   "}, "reason_required", "needs a reason"),
    ({**LEGACY_READ, "reason": "r", "percent_bps": "10"}, "invalid_route", "integer"),
    ({**LEGACY_READ, "reason": "r", "percent": 10}, "invalid_route", "unknown field"),
    ({**LEGACY_READ, "reason": "r", "id": "other"}, "invalid_route", "differs"),
    ({"path": "/api/x", "reason": "r"}, "invalid_route", "methods is required"),
    ({**LEGACY_READ, "reason": "r", "mode": "canary", "service": "billing",
      "percent_bps": 10}, "invalid_route", "unknown backend"),
    ({**LEGACY_READ, "reason": "r", "path": "/api/products/{sku}"}, "invalid_route",
     "ambiguous"),
    ({**LEGACY_READ, "reason": "r", "force": "yes"}, "invalid_request", "force"),
    ({**LEGACY_READ, "reason": "r", "shadow": {"ignore": []}}, "invalid_route", "shadow"),
])
def test_an_invalid_put_is_refused_and_changes_nothing(
        admin: Admin, body: dict[str, Any], code: str, message: str) -> None:
    admin.put("products-read", {**LEGACY_READ, "reason": "prepare"})
    failure = error(admin.put("products-other", body), 422)
    assert failure["code"] == code and message in failure["message"]
    assert admin.store.version() == 1 and admin.audit_rows() == 1


def test_a_flip_the_gate_refuses_is_409_audited_and_not_applied(admin: Admin) -> None:
    admin.put("products-read", {**LEGACY_READ, "reason": "prepare"})
    refused = error(admin.put("products-read", {**CANARY_READ, "reason": "canary 10%"}), 409)
    assert refused == {"code": "gate_refused",
                       "message": "no verification recorded for catalog",
                       "refusals": [{"route_id": "products-read",
                                     "reason": "no verification recorded for catalog"}]}
    route = admin.http.get("/admin/routes/products-read").json()["route"]
    assert route["mode"] == "legacy" and admin.store.version() == 1
    [entry] = admin.http.get("/admin/history", params={"limit": 1}).json()["items"]
    assert entry["action"] == "refused" and entry["table_version"] is None
    assert "no verification recorded for catalog" in entry["reason"]


def test_force_with_a_reason_passes_the_gate_and_is_audited_as_forced(admin: Admin) -> None:
    admin.verify_catalog(passed=False)
    forced = admin.put("products-read", {**CANARY_READ, "force": True,
                                         "reason": "incident 42, verified by hand"})
    assert forced.status_code == 200, forced.text
    assert forced.json()["forced"] and forced.json()["gate"]["allowed"] is False
    [entry] = admin.http.get("/admin/history").json()["items"]
    assert entry["forced"] and entry["after"]["mode"] == "canary"
    assert "forced past the gate: latest verification of catalog" in entry["reason"]


def test_force_without_a_reason_is_422_and_audits_nothing(admin: Admin) -> None:
    failure = error(admin.put("products-read", {**CANARY_READ, "force": True, "reason": ""}),
                    422)
    assert "reason" in failure["message"]
    assert admin.audit_rows() == 0 and admin.store.version() == 0


def test_a_verified_flip_passes_and_a_rise_after_a_failed_verification_does_not(
        admin: Admin) -> None:
    admin.verify_catalog()
    passed = admin.put("products-read", {**CANARY_READ, "reason": "canary 10%"})
    assert passed.status_code == 200, passed.text
    assert passed.json()["gate"] == {"allowed": True, "reason": (
        "verification of catalog (version 1.4.0, pact abc123) passed and covers "
        "GET /api/products/01J")}
    admin.verify_catalog(passed=False)
    rise = admin.put("products-read", {**CANARY_READ, "percent_bps": 5000, "reason": "50%"})
    assert "failed" in error(rise, 409)["message"]
    lower = admin.put("products-read", {**CANARY_READ, "percent_bps": 500, "reason": "back off"})
    assert lower.status_code == 200 and lower.json()["route"]["percent_bps"] == 500


def test_delete_needs_a_reason_and_an_existing_route(admin: Admin) -> None:
    admin.put("products-read", {**LEGACY_READ, "reason": "prepare"})
    assert error(admin.http.delete("/admin/routes/products-read"), 422)["code"] == (
        "reason_required")
    assert error(admin.http.delete("/admin/routes/nope", params={"reason": "r"}), 404)[
        "code"] == "route_not_found"
    deleted = admin.http.delete("/admin/routes/products-read", params={"reason": "done"})
    assert deleted.status_code == 200 and deleted.json()["route"] is None
    assert admin.http.get("/admin/routes").json()["routes"] == []
    assert admin.http.get("/admin/history").json()["items"][0]["action"] == "delete"


def test_rollback_restores_the_previous_route_and_twice_restores_again(admin: Admin) -> None:
    admin.put("products-read", {**LEGACY_READ, "reason": "prepare"})
    admin.put("products-read", {**LEGACY_READ, "mode": "shadow", "service": "catalog",
                                "reason": "mirror"})
    first = admin.http.post("/admin/routes/products-read/rollback",
                            json={"reason": "mismatches"})
    assert first.status_code == 200 and first.json()["route"]["mode"] == "legacy"
    second = admin.http.post("/admin/routes/products-read/rollback", json={"reason": "redo"})
    assert second.json()["route"]["mode"] == "shadow" and second.json()["table_version"] == 4
    items = admin.http.get("/admin/history", params={"route_id": "products-read"}).json()
    assert [e["action"] for e in items["items"]] == ["rollback", "rollback", "set", "set"]
    assert error(admin.http.post("/admin/routes/nope/rollback", json={"reason": "r"}), 404)[
        "code"] == "route_not_found"
    simple = admin.http.post("/admin/routes/products-read/rollback", data={"reason": "csrf"})
    assert error(simple, 415)["code"] == "unsupported_media_type"


def test_history_filters_and_limits(admin: Admin) -> None:
    admin.put("products-read", {**LEGACY_READ, "reason": "one"})
    admin.put("products-list", {"methods": ["GET"], "path": "/api/products", "reason": "two"})
    assert [e["reason"] for e in admin.http.get("/admin/history").json()["items"]] == [
        "two", "one"]
    only = admin.http.get("/admin/history", params={"route_id": "products-read"}).json()
    assert [e["reason"] for e in only["items"]] == ["one"]
    assert len(admin.http.get("/admin/history", params={"limit": 1}).json()["items"]) == 1
    for bad in ("0", "-1", "x", "1001"):
        response = admin.http.get("/admin/history", params={"limit": bad})
        assert error(response, 400)["code"] == "invalid_query"


# -- export and import -----------------------------------------------------------------------

def import_(admin: Admin, text: str, reason: str = "restore", **params: str) -> httpx.Response:
    return admin.http.post("/admin/import", content=text.encode(),
                           headers={"Content-Type": "application/yaml"},
                           params={"reason": reason, **params})


def test_export_then_import_restores_the_table(admin: Admin) -> None:
    admin.put("products-read", {**LEGACY_READ, "mode": "shadow", "service": "catalog",
                                "reason": "mirror"})
    admin.put("products-list", {"methods": ["GET"], "path": "/api/products", "reason": "r"})
    exported = admin.http.get("/admin/export")
    assert exported.headers["content-type"].startswith("text/yaml")
    doc = yaml.safe_load(exported.text)
    assert [r["id"] for r in doc["routes"]] == ["products-list", "products-read"]
    before = admin.http.get("/admin/routes").json()["routes"]
    admin.http.delete("/admin/routes/products-list", params={"reason": "r"})
    admin.put("products-read", {**LEGACY_READ, "reason": "stop mirroring"})
    admin.put("orders-read", {"methods": ["GET"], "path": "/api/orders/{id}", "reason": "r"})
    audited = admin.audit_rows()
    imported = import_(admin, exported.text)
    assert imported.status_code == 200, imported.text
    assert imported.json() == {"table_version": 6, "set": ["products-list", "products-read"],
                               "removed": ["orders-read"], "forced": False}
    assert admin.http.get("/admin/routes").json()["routes"] == before
    assert admin.audit_rows() == audited + 3  # one entry per difference
    assert {e["action"] for e in admin.http.get("/admin/history",
                                                params={"limit": 3}).json()["items"]} == {"import"}
    unchanged = import_(admin, exported.text)
    assert unchanged.json() == {"table_version": 6, "set": [], "removed": [], "forced": False}


@pytest.mark.parametrize(("text", "message"), [
    ("routes: [\n", "not valid YAML"),
    ("- id: a\n", "top-level routes"),
    ("route: []\n", "top-level routes"),
    ("routes: []\nextra: 1\n", "unknown top-level"),
    ("routes:\n- 42\n", "not a mapping"),
    ("routes:\n- {id: a, methods: [GET], path: '/api/a/{x}'}\n"
     "- {id: b, methods: [GET], path: '/api/a/{y}'}\n", "ambiguous"),
    ("routes:\n- {id: a, methods: [GET], path: /api/a}\n"
     "- {id: a, methods: [PUT], path: /api/a}\n", "duplicate route id a"),
    ("routes:\n- {id: a, methods: [GET], path: /api/a, mode: on}\n", "mode must be a string"),
])
def test_an_invalid_import_changes_nothing(admin: Admin, text: str, message: str) -> None:
    admin.put("products-read", {**LEGACY_READ, "reason": "prepare"})
    failure = error(import_(admin, text), 422)
    assert failure["code"] == "invalid_route" and message in failure["message"]
    assert admin.store.version() == 1 and admin.audit_rows() == 1
    assert [r["id"] for r in admin.http.get("/admin/routes").json()["routes"]] == [
        "products-read"]


def test_an_import_passes_the_gate_too(admin: Admin) -> None:
    admin.put("products-read", {**LEGACY_READ, "reason": "prepare"})
    text = yaml.safe_dump({"routes": [{"id": "products-read", **CANARY_READ}]})
    refused = error(import_(admin, text), 409)
    assert refused["message"] == "no verification recorded for catalog"
    assert admin.http.get("/admin/routes/products-read").json()["route"]["mode"] == "legacy"
    forced = import_(admin, text, reason="drill", force="true")
    assert forced.status_code == 200 and forced.json()["forced"] is True
    assert admin.http.get("/admin/routes/products-read").json()["route"]["mode"] == "canary"


def test_an_import_needs_yaml_and_a_reason(admin: Admin) -> None:
    plain = admin.http.post("/admin/import", content=b"routes: []\n",
                            headers={"Content-Type": "text/plain"}, params={"reason": "r"})
    assert error(plain, 415)["code"] == "unsupported_media_type"
    assert error(import_(admin, "routes: []\n", reason=""), 422)["code"] == "reason_required"
    latin = admin.http.post("/admin/import", content="routes: [] # é\n".encode("latin-1"),
                            headers={"Content-Type": "text/yaml"}, params={"reason": "r"})
    assert "UTF-8" in error(latin, 400)["message"]


# -- bad requests ----------------------------------------------------------------------------

@pytest.mark.parametrize(("content", "content_type", "status", "code"), [
    (b"{\"methods\": [", "application/json", 400, "malformed_json"),
    (b"[1, 2]", "application/json", 400, "malformed_json"),
    (b"{\"reason\": NaN}", "application/json", 400, "malformed_json"),
    (b"\xff\xfe", "application/json", 400, "malformed_json"),
    (b"methods=GET", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    (b"{\"reason\": \"" + b"x" * 70_000 + b"\"}", "application/json", 413,
     "payload_too_large"),
])
def test_bad_bodies_get_a_clear_4xx(admin: Admin, content: bytes, content_type: str,
                                    status: int, code: str) -> None:
    response = admin.http.put("/admin/routes/products-read", content=content,
                              headers={"Content-Type": content_type})
    assert error(response, status)["code"] == code
    assert admin.audit_rows() == 0


def test_unknown_paths_and_methods_answer_json(admin: Admin) -> None:
    assert error(admin.http.get("/admin/nope"), 404)["code"] == "not_found"
    wrong = admin.http.post("/admin/routes")
    assert error(wrong, 405)["code"] == "method_not_allowed"
    assert "GET" in wrong.headers["Allow"]


# -- services, status, metrics ---------------------------------------------------------------

def test_services_probe_each_backend_and_report_its_breaker(engine: Engine) -> None:
    healthy, failing = Flask("healthy"), Flask("failing")
    healthy.get("/healthz")(lambda: {"status": "ok"})
    failing.get("/healthz")(lambda: Response("{}", 503))
    with ExitStack() as stack:
        catalog_url = stack.enter_context(serving(healthy))
        monolith_url = stack.enter_context(serving(failing))
        admin = start(stack, engine, backends=local_backends(
            catalog=catalog_url, monolith=monolith_url), runtime=FakeRuntime(
            breaker_states={"catalog": "closed", "notifications": "open"}))
        services = {s["name"]: s for s in admin.http.get("/admin/services").json()["services"]}
    assert list(services) == ["monolith", "catalog", "notifications"]
    assert services["catalog"]["healthy"] and services["catalog"]["status_code"] == 200
    assert services["catalog"]["url"] == catalog_url and services["catalog"]["breaker"] == "closed"
    assert not services["monolith"]["healthy"] and services["monolith"]["status_code"] == 503
    assert services["monolith"]["breaker"] == "unknown"
    assert not services["notifications"]["healthy"]
    assert "ConnectError" in services["notifications"]["error"]
    assert services["notifications"]["breaker"] == "open"


def test_status_reports_modes_traffic_rates_breakers_and_outbox_lag(engine: Engine) -> None:
    runtime = FakeRuntime(breaker_states={"catalog": "half_open"}, stats={
        "products-read": {"requests": 200, "errors": 2, "legacy_share": 0.9,
                          "service_share": 0.1},
        "products-list": {"requests": 50, "shadowed": 40, "mismatches": 4,
                          "legacy_share": 1.0},
        "(default)": {"requests": 700, "legacy_share": 1.0},
        "removed-route": {"requests": 50, "service_share": 1.0}})
    with ExitStack() as stack:
        admin = start(stack, engine, runtime=runtime,
                      outbox_lag=lambda: {"monolith": 0.25})
        admin.verify_catalog()
        admin.put("products-read", {**CANARY_READ, "reason": "canary"})
        admin.put("products-list", {"methods": ["GET"], "path": "/api/products",
                                    "mode": "shadow", "service": "catalog", "reason": "mirror"})
        status = admin.http.get("/admin/status").json()
    assert status["table_version"] == 2
    assert status["routes_per_mode"] == {"legacy": 0, "shadow": 1, "canary": 1, "extracted": 0}
    rows = {r["id"]: r for r in status["routes"]}
    assert set(rows) == {"products-read", "products-list"}
    assert rows["products-read"]["error_rate"] == 0.01
    assert rows["products-read"]["service_share"] == 0.1
    assert rows["products-read"]["mismatch_rate"] is None
    assert rows["products-list"]["mismatch_rate"] == 0.1
    assert status["traffic"] == {"requests": 1000, "other_requests": 750, "errors": 2,
                                 "error_rate": 0.002, "service_share": 0.07}
    assert status["breakers"] == {"catalog": "half_open"}
    assert status["outbox_lag_seconds"] == {"monolith": 0.25}
    assert status["outbox_lag_error"] is None


def test_status_answers_when_outbox_lag_fails(engine: Engine) -> None:
    def broken() -> dict[str, float]:
        raise ConnectionError("monolith database down")

    with ExitStack() as stack:
        admin = start(stack, engine, outbox_lag=broken)
        status = admin.http.get("/admin/status")
    assert status.status_code == 200
    assert status.json()["outbox_lag_error"] == "ConnectionError: monolith database down"
    assert status.json()["outbox_lag_seconds"] is None


def test_metrics_are_the_data_planes_prometheus_text(admin: Admin) -> None:
    admin.runtime.metrics = b"strangler_requests_total{route=\"products-read\"} 7\n"
    response = admin.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert response.content == b"strangler_requests_total{route=\"products-read\"} 7\n"
