"""Request identity, trace context, health endpoints and Prometheus metrics of a service.

The same behaviour in the monolith and every service (``X-Request-ID`` kept or generated,
``traceparent`` continued and echoed); each deployable names its metrics with its own prefix
(``shop_http_requests_total``, ``catalog_http_requests_total``).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator

from flask import Blueprint, Flask, Response, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, text

from strangler_http.web import error_response, json_response
from strangler_messaging import OutboxStatus, TraceContext
from strangler_messaging.tracing import reset_trace, set_trace

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


def install_request_context(app: Flask, registry: CollectorRegistry, prefix: str) -> None:
    """Give every request an id and a trace span, echo both, and record its metrics.

    ``X-Request-ID`` is kept when it is a sane token and generated otherwise; ``traceparent`` is
    continued as a child span (or a new trace is started), and that span is what outbox rows
    written by the request record.
    """
    requests = Counter(f"{prefix}_http_requests_total", "HTTP requests handled.",
                       ["method", "route", "status"], registry=registry)
    latency = Histogram(f"{prefix}_http_request_duration_seconds", "Time to handle a request.",
                        ["method", "route"], buckets=_LATENCY_BUCKETS, registry=registry)

    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.trace = TraceContext.continue_from(request.headers.get("traceparent"),
                                             request.headers.get("tracestate"))
        g.trace_token = set_trace(g.trace)

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.get("request_id") or uuid.uuid4().hex
        trace = g.get("trace")
        if trace is not None:
            response.headers["traceparent"] = trace.traceparent
        route = request.url_rule.rule if request.url_rule else "<unmatched>"
        requests.labels(request.method, route, str(response.status_code)).inc()
        if "started" in g:
            latency.labels(request.method, route).observe(time.perf_counter() - g.started)
        return response

    @app.teardown_request
    def _reset(_exc: BaseException | None) -> None:
        token = g.pop("trace_token", None)
        if token is not None:
            reset_trace(token)


class OutboxCollector(Collector):
    """Reads whether the database answers and the outbox backlog at scrape time."""

    def __init__(self, prefix: str, read_status: Callable[[], OutboxStatus]) -> None:
        self._prefix = prefix
        self._read_status = read_status

    def collect(self) -> Iterator[Metric]:
        up = f"{self._prefix}_database_up"
        try:
            status = self._read_status()
        except Exception:
            # /metrics must keep answering while the database is down: that is when it matters.
            yield GaugeMetricFamily(up, "Whether the database answered.", 0)
            return
        yield GaugeMetricFamily(up, "Whether the database answered.", 1)
        yield GaugeMetricFamily(f"{self._prefix}_outbox_pending_events",
                                "Outbox rows not yet confirmed by the broker.", status.pending)
        yield GaugeMetricFamily(f"{self._prefix}_outbox_oldest_pending_age_seconds",
                                "Age of the oldest unpublished outbox row.",
                                status.oldest_pending_age_seconds())


def health_blueprint(engine: Engine, registry: CollectorRegistry) -> Blueprint:
    """``/healthz`` (the process answers), ``/readyz`` (the database answers), ``/metrics``."""
    bp = Blueprint("health", __name__)

    @bp.get("/healthz")
    def healthz() -> Response:
        return json_response({"status": "ok"})

    @bp.get("/readyz")
    def readyz() -> Response:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:
            return error_response(503, "not_ready", f"database unreachable: {type(exc).__name__}")
        return json_response({"status": "ready"})

    @bp.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), mimetype="text/plain; version=0.0.4")

    return bp
