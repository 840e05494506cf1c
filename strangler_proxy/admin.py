"""The admin API: the route table, its audit trail, services and status over HTTP.

Served on its own listener (default 127.0.0.1:8001), never on the public one. Every endpoint
but ``GET /healthz`` needs ``Authorization: Bearer <token>``; without a token (``token=None``,
dev mode, loopback only) auth is skipped. Every error is ``{"error": {"code", "message"}}``.

State-changing requests are never CORS "simple" requests (PUT, DELETE, POST with a JSON or
YAML body), so a web page cannot forge them even against a dev-mode admin.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import httpx
from flask import Flask, Response, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from strangler_proxy.backends import Backend, backends_from_env
from strangler_proxy.control import Applied, GateRefused, RouteControl, RouteNotFound, parse_route
from strangler_proxy.routes import LEGACY_BACKEND, RouteError
from strangler_proxy.runtime_view import RuntimeView, summarize

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
MAX_HISTORY = 1000
MAX_REASON = 2000
SOURCES = frozenset({"api", "cli", "dashboard"})
_ACTION = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 413: "payload_too_large",
               415: "unsupported_media_type"}
_HTTP_MESSAGES = {404: "no admin endpoint at this path",
                  405: "this endpoint does not accept the method"}
_CONTROL_FIELDS = ("reason", "force", "actor")


class ApiError(Exception):
    """A failure answered with ``status`` and the JSON error shape."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def create_admin_app(control: RouteControl, runtime: RuntimeView, *, token: str | None,
                     backends: Mapping[str, Backend] | None = None,
                     outbox_lag: Callable[[], dict[str, float]] | None = None,
                     max_body_bytes: int = MAX_BODY_BYTES, probe_timeout: float = 1.0) -> Flask:
    """Build the admin app. ``token=None`` means dev mode: no auth, loopback host names only.

    ``backends`` default to ``STRANGLER_<NAME>_URL``; ``outbox_lag`` returns seconds of relay
    lag per database for ``/admin/status``.
    """
    if token is not None and not token.strip():
        raise ValueError("an empty admin token would let anyone in; pass None for dev mode")
    known = dict(backends) if backends is not None else backends_from_env(os.environ)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = max_body_bytes
    _install_auth(app, token)
    _install_errors(app)

    @app.get("/healthz")
    def healthz() -> Response:
        return _json({"status": "ok"})

    @app.get("/admin/routes")
    def list_routes() -> Response:
        table = control.table()
        return _json({"table_version": table.version, "default_backend": LEGACY_BACKEND,
                      "routes": [r.to_dict() for r in sorted(table.routes, key=lambda r: r.id)]})

    @app.get("/admin/routes/<route_id>")
    def show_route(route_id: str) -> Response:
        table = control.table()
        route = table.get(route_id)
        if route is None:
            raise RouteNotFound(f"no route {route_id}")
        return _json({"table_version": table.version, "route": route.to_dict()})

    @app.put("/admin/routes/<route_id>")
    def set_route(route_id: str) -> Response:
        body = _json_body()
        doc = {k: v for k, v in body.items() if k not in _CONTROL_FIELDS}
        if doc.setdefault("id", route_id) != route_id:
            raise RouteError(f"the body's id {doc['id']!r} differs from the URL's {route_id!r}")
        route = parse_route(doc)
        return _applied(control.set_route(route, _actor(body), _reason(body.get("reason")),
                                          force=_flag(body.get("force")), source=_source()))

    @app.delete("/admin/routes/<route_id>")
    def delete_route(route_id: str) -> Response:
        body = _json_body(required=False)
        reason = _reason(body.get("reason", request.args.get("reason")))
        return _applied(control.delete_route(route_id, _actor(body), reason, source=_source()))

    @app.post("/admin/routes/<route_id>/rollback")
    def rollback(route_id: str) -> Response:
        body = _json_body()
        return _applied(control.rollback(route_id, _actor(body), _reason(body.get("reason")),
                                         force=_flag(body.get("force")), source=_source()))

    @app.post("/admin/notes")
    def note() -> Response:
        """Audit something that changes no route (an ownership move, a decision)."""
        body = _json_body()
        action = body.get("action")
        if not isinstance(action, str) or not _ACTION.match(action):
            raise ApiError(422, "invalid_request", "action must be lower-case letters, digits "
                                                   "and underscores, at most 32")
        control.store.note(actor=_actor(body), source=_source(), action=action,
                           reason=_reason(body.get("reason")))
        return _json({"noted": action}, 201)

    @app.get("/admin/history")
    def history() -> Response:
        route_id = request.args.get("route_id") or None
        limit = _limit(request.args.get("limit"))
        return _json({"items": [e.to_dict() for e in control.history(route_id, limit)]})

    @app.get("/admin/export")
    def export() -> Response:
        return Response(control.export_yaml(), mimetype="text/yaml")

    @app.post("/admin/import")
    def import_table() -> Response:
        if request.mimetype not in YAML_TYPES:
            raise ApiError(415, "unsupported_media_type",
                           f"send the table as one of {', '.join(sorted(YAML_TYPES))}")
        try:
            text = request.get_data(cache=False).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ApiError(400, "bad_request", f"the body is not UTF-8: {exc}") from exc
        force = _query_flag("force")
        imported = control.import_yaml(text, _actor({}), _reason(request.args.get("reason")),
                                       force=force, source=_source())
        return _json({"table_version": imported.table_version, "set": list(imported.set_ids),
                      "removed": list(imported.removed_ids), "forced": imported.forced})

    @app.get("/admin/services")
    def services() -> Response:
        breakers = runtime.breakers()
        with ThreadPoolExecutor(max_workers=max(1, len(known))) as pool:
            health = list(pool.map(lambda b: _probe(b, probe_timeout), known.values()))
        return _json({"services": [
            {**h, "breaker": breakers.get(h["name"], "unknown")} for h in health]})

    @app.get("/admin/status")
    def status() -> Response:
        payload = {**summarize(control.table(), runtime.route_stats()),
                   "breakers": runtime.breakers(), "outbox_lag_seconds": None,
                   "outbox_lag_error": None}
        if outbox_lag is not None:
            try:
                payload["outbox_lag_seconds"] = outbox_lag()
            except Exception as exc:  # status must answer even when a database does not
                log.warning("outbox lag unavailable: %s", exc)
                payload["outbox_lag_error"] = f"{type(exc).__name__}: {exc}"
        return _json(payload)

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(runtime.metrics_text(), mimetype="text/plain; version=0.0.4")

    return app


def _install_auth(app: Flask, token: str | None) -> None:
    expected = token.encode() if token is not None else None

    @app.before_request
    def authenticate() -> Response | None:
        if request.endpoint == "healthz":
            return None
        if expected is None:
            if _host_name() not in LOOPBACK_HOSTS:
                return _error(403, "forbidden", "the admin API runs without a token (dev mode) "
                                                "and answers loopback host names only")
            return None
        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            response = _error(401, "unauthorized",
                              "send Authorization: Bearer <token> (STRANGLER_ADMIN_TOKEN)")
            response.headers["WWW-Authenticate"] = 'Bearer realm="strangler-admin"'
            return response
        if not hmac.compare_digest(presented.strip().encode(), expected):
            return _error(403, "forbidden", "the admin token is not valid")
        return None

    @app.after_request
    def no_caching(response: Response) -> Response:
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def _install_errors(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api(exc: ApiError) -> Response:
        return _error(exc.status, exc.code, exc.message)

    @app.errorhandler(RouteError)
    def _invalid(exc: RouteError) -> Response:
        return _error(422, "invalid_route", str(exc))

    @app.errorhandler(GateRefused)
    def _refused(exc: GateRefused) -> Response:
        return _json({"error": {
            "code": "gate_refused", "message": exc.reason,
            "refusals": [{"route_id": r, "reason": why} for r, why in exc.refusals]}}, 409)

    @app.errorhandler(RouteNotFound)
    def _missing(exc: RouteNotFound) -> Response:
        return _error(404, "route_not_found", exc.message)

    @app.errorhandler(OperationalError)
    def _database(exc: OperationalError) -> Response:
        log.error("proxy database unavailable: %s", exc.orig)
        return _error(503, "database_unavailable", "the proxy database does not answer")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        status = exc.code or 500
        response = _error(status, _HTTP_CODES.get(status, f"http_{status}"),
                          _HTTP_MESSAGES.get(status) or exc.description or exc.name)
        for name, value in exc.get_headers():
            if name.lower() == "allow":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled admin error")
        return _error(500, "internal_error", "the admin API failed to handle the request")


def _host_name() -> str | None:
    try:
        return urlsplit(f"//{request.host}").hostname
    except ValueError:
        return None


def _json(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload, separators=(",", ":")), status=status,
                    mimetype="application/json")


def _error(status: int, code: str, message: str) -> Response:
    return _json({"error": {"code": code, "message": message}}, status)


def _applied(applied: Applied) -> Response:
    gate = applied.gate
    return _json({"table_version": applied.table_version,
                  "route": applied.route.to_dict() if applied.route else None,
                  "changed": applied.changed, "forced": applied.forced,
                  "gate": {"allowed": gate.allowed, "reason": gate.reason} if gate else None})


def _json_body(required: bool = True) -> dict[str, Any]:
    raw = request.get_data(cache=False)
    if not raw and not required:
        return {}
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    try:
        doc = json.loads(raw, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ApiError(400, "malformed_json", f"the body is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise ApiError(400, "malformed_json", "the body must be a JSON object")
    return doc


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _reason(value: Any) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ApiError(422, "reason_required", "every change needs a reason (who asked, why)")
    if not isinstance(value, str) or len(value) > MAX_REASON:
        raise ApiError(422, "invalid_request", f"reason must be text of at most {MAX_REASON} "
                                               "characters")
    return value.strip()


def _actor(body: Mapping[str, Any]) -> str:
    actor = body.get("actor") or request.headers.get("X-Strangler-Actor") or "admin"
    if (not isinstance(actor, str) or not actor.strip() or len(actor) > 128
            or not actor.isprintable()):
        raise ApiError(422, "invalid_request", "actor must be printable text of 1 to 128 "
                                               "characters")
    return actor.strip()


def _source() -> str:
    source = request.headers.get("X-Strangler-Source", "api")
    if source not in SOURCES:
        raise ApiError(422, "invalid_request", f"X-Strangler-Source must be one of "
                                               f"{', '.join(sorted(SOURCES))}")
    return source


def _flag(value: Any) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ApiError(422, "invalid_request", "force must be true or false")
    return value


def _query_flag(name: str) -> bool:
    raw = request.args.get(name, "false").lower()
    if raw not in ("true", "false", "1", "0"):
        raise ApiError(400, "invalid_query", f"{name} must be true or false")
    return raw in ("true", "1")


def _limit(raw: str | None) -> int:
    if raw is None:
        return 50
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_HISTORY:
        raise ApiError(400, "invalid_query", f"limit must be an integer from 1 to {MAX_HISTORY}")
    return int(raw)


def _probe(backend: Backend, timeout: float) -> dict[str, Any]:
    started = time.perf_counter()
    result: dict[str, Any] = {"name": backend.name, "url": backend.url, "healthy": False,
                              "status_code": None, "latency_ms": None, "error": None}
    try:
        with httpx.Client(timeout=timeout, trust_env=False) as client:
            response = client.get(backend.health_url)
    except httpx.HTTPError as exc:
        result["error"] = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return result
    result.update(healthy=response.status_code == 200, status_code=response.status_code,
                  latency_ms=round((time.perf_counter() - started) * 1000, 1))
    if response.status_code != 200:
        result["error"] = f"/healthz answered {response.status_code}"
    return result
