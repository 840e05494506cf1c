"""Per request: pick the route, the mode and the backend, forward, fall back, shadow.

Modes: ``legacy`` (monolith only), ``shadow`` (monolith answers; the service gets a mirror off
the response path and the two answers are compared), ``canary`` (a sticky share of callers to
the service), ``extracted`` (service only). Unmatched requests go to the monolith.

A paused route holds its requests (nothing is forwarded) until it is unpaused, then routes
them by the table of that moment; after the hold timeout they get 503 ``route_paused``. The
write cutover pauses the write routes while it moves ownership, so writes wait, never fail.

Fallback to the monolith (route policy ``safe``): a safe method after any service failure, an
unsafe one only when the service could not even be connected to (nothing was sent). A request
that reached the service is never replayed elsewhere. Policy ``never`` (write-owning routes)
answers with the service's failure instead.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from strangler_messaging.tracing import TraceContext
from strangler_proxy.breaker import CircuitBreaker
from strangler_proxy.matching import RouteTable, bucket
from strangler_proxy.messages import HeaderList, Request, Response, end_to_end, error_response
from strangler_proxy.metrics import DEFAULT_ROUTE, ProxyMetrics
from strangler_proxy.routes import LEGACY_BACKEND, SAFE_METHODS, Fallback, Mode, Route
from strangler_proxy.shadow import differences
from strangler_proxy.upstream import Pool, UpstreamError

log = logging.getLogger(__name__)

_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:\-]{1,128}$")
_REPLACED = frozenset((b"x-request-id", b"traceparent", b"x-forwarded-for",
                       b"x-forwarded-proto", b"x-forwarded-host"))
OVERRIDE = b"x-strangler-backend"
OVERRIDE_TOKEN = b"x-strangler-token"
SHADOW_MARK = (b"X-Strangler-Shadow", b"1")

MismatchSink = Callable[[str, str, bytes, int, int | None, list[str]], None]


@dataclass(slots=True)
class TableHolder:
    """The current route table; replaced whole, never mutated."""

    table: RouteTable


class Dispatcher:
    """Turns a client request into the response of the right backend."""

    def __init__(self, holder: TableHolder, pools: Mapping[str, Pool],
                 breakers: Mapping[str, CircuitBreaker], metrics: ProxyMetrics, *,
                 tester_token: str | None = None, on_mismatch: MismatchSink | None = None,
                 max_shadow_in_flight: int = 64, hold_timeout: float = 10.0) -> None:
        self._holder = holder
        self._pools = pools
        self._breakers = breakers
        self._metrics = metrics
        self._tester_token = tester_token.encode() if tester_token else None
        self._on_mismatch = on_mismatch
        self._shadow_slots = max_shadow_in_flight
        self._shadow_tasks: set[asyncio.Task[None]] = set()
        self._hold_timeout = hold_timeout

    async def handle(self, request: Request) -> Response:
        """Answer one request (never raises)."""
        started = time.perf_counter()
        request_id, trace, override, upstream_headers = self._prepare(request)
        route = self._holder.table.match(request.method, request.path)
        if route is not None and route.paused and override is None:
            route = await self._held(route, request)
        if route is not None and route.paused:
            backend, response = "proxy", _paused(route)
        else:
            backend, response = await self._route(route, request, upstream_headers, override)
        headers = [(n, v) for n, v in end_to_end(response.headers)
                   if not n.lower().startswith(b"x-strangler-") and n.lower() != b"x-request-id"]
        if request.method == "HEAD":
            length = next((v for n, v in response.headers if n.lower() == b"content-length"),
                          None)
            if length is not None:
                headers.append((b"Content-Length", length))
        if not any(n.lower() == b"traceparent" for n, _ in headers):
            headers.append((b"traceparent", trace.traceparent.encode()))
        headers += [(b"X-Strangler-Upstream", backend.encode()), (b"X-Request-ID", request_id)]
        label = route.id if route else DEFAULT_ROUTE
        self._metrics.requests.labels(label, backend, f"{response.status // 100}xx").inc()
        self._metrics.latency.labels(label, backend).observe(time.perf_counter() - started)
        return Response(response.status, response.reason, headers, response.body)

    # -- routing ---------------------------------------------------------------------------

    async def _route(self, route: Route | None, request: Request, headers: HeaderList,
                     override: str | None) -> tuple[str, Response]:
        if override is not None:
            return override, await self._send(override, request, headers)
        if route is None or route.mode is Mode.LEGACY:
            return LEGACY_BACKEND, await self._send(LEGACY_BACKEND, request, headers)
        assert route.service is not None
        if route.mode is Mode.SHADOW:
            response = await self._send(LEGACY_BACKEND, request, headers)
            if request.method in SAFE_METHODS or route.shadow.include_unsafe:
                self._mirror(route, request, headers, response)
            return LEGACY_BACKEND, response
        if route.mode is Mode.CANARY and not self._in_canary(route, request):
            return LEGACY_BACKEND, await self._send(LEGACY_BACKEND, request, headers)
        return await self._via_service(route, request, headers)

    async def _held(self, route: Route, request: Request) -> Route | None:
        """Wait until the request's route is no longer paused; the route it has then."""
        self._metrics.held.labels(route.id).inc()
        deadline = time.monotonic() + self._hold_timeout
        while time.monotonic() < deadline:
            await asyncio.sleep(0.01)
            current = self._holder.table.match(request.method, request.path)
            if current is None or not current.paused:
                return current
        return self._holder.table.match(request.method, request.path)

    def _in_canary(self, route: Route, request: Request) -> bool:
        kind, _, name = route.sticky_key.partition(":")
        key = request.peer
        if kind == "header":
            value = _header(request.headers, name.lower().encode())
            key = value.decode("latin-1") if value else key
        elif kind == "cookie":
            key = _cookie(request.headers, name.encode()) or key
        return bucket(route.id, key, route.hash_version) < route.percent_bps

    async def _via_service(self, route: Route, request: Request, headers: HeaderList
                           ) -> tuple[str, Response]:
        service = route.service
        assert service is not None
        safe = request.method in SAFE_METHODS
        may_fall_back = route.fallback is Fallback.SAFE
        breaker = self._breakers[service]
        if not breaker.allow():
            if may_fall_back and safe:
                return self._fell_back(route, "breaker_open"), await self._send(
                    LEGACY_BACKEND, request, headers)
            return service, error_response(503, "service_unavailable",
                                           f"{service} is failing; its breaker is open")
        try:
            response = await self._pools[service].exchange(request.method, request.head(
                headers) + request.body)
        except UpstreamError as exc:
            breaker.record(False)
            self._metrics.upstream_errors.labels(service, exc.kind).inc()
            if may_fall_back and (safe or exc.kind == "connect"):
                return self._fell_back(route, exc.kind), await self._send(
                    LEGACY_BACKEND, request, headers)
            return service, _upstream_failure(exc)
        breaker.record(response.status < 500)
        if response.status >= 500 and may_fall_back and safe:
            return self._fell_back(route, "status_5xx"), await self._send(
                LEGACY_BACKEND, request, headers)
        return service, response

    def _fell_back(self, route: Route, reason: str) -> str:
        self._metrics.fallbacks.labels(route.id, reason).inc()
        return LEGACY_BACKEND

    async def _send(self, backend: str, request: Request, headers: HeaderList) -> Response:
        try:
            return await self._pools[backend].exchange(
                request.method, request.head(headers) + request.body)
        except UpstreamError as exc:
            self._metrics.upstream_errors.labels(backend, exc.kind).inc()
            return _upstream_failure(exc)

    # -- shadow ----------------------------------------------------------------------------

    def _mirror(self, route: Route, request: Request, headers: HeaderList,
                legacy: Response) -> None:
        if len(self._shadow_tasks) >= self._shadow_slots:
            self._metrics.shadow.labels(route.id, "skipped").inc()
            return
        task = asyncio.get_running_loop().create_task(
            self._compare(route, request, headers, legacy))
        self._shadow_tasks.add(task)
        task.add_done_callback(self._shadow_tasks.discard)

    async def _compare(self, route: Route, request: Request, headers: HeaderList,
                       legacy: Response) -> None:
        service = route.service
        assert service is not None
        breaker = self._breakers[service]
        if not breaker.allow():
            self._metrics.shadow.labels(route.id, "skipped").inc()
            return
        data = request.head([*headers, SHADOW_MARK]) + request.body
        try:
            mirrored = await self._pools[service].exchange(request.method, data)
        except UpstreamError as exc:
            breaker.record(False)
            self._metrics.shadow.labels(route.id, "error").inc()
            log.info("shadow of %s failed: %s", route.id, exc)
            return
        breaker.record(mirrored.status < 500)
        noise = None
        if route.shadow.noise_cancellation and request.method in SAFE_METHODS:
            try:
                noise = await self._pools[LEGACY_BACKEND].exchange(request.method, data)
            except UpstreamError:
                noise = None
        found = differences(legacy, mirrored, compare_headers=route.shadow.compare_headers,
                            ignore=route.shadow.ignore_paths, noise=noise)
        self._metrics.shadow.labels(route.id, "mismatch" if found else "match").inc()
        if found and self._on_mismatch is not None:
            self._on_mismatch(route.id, request.method, request.target, legacy.status,
                              mirrored.status, found)

    async def drain(self, timeout: float) -> None:
        """Let in-flight shadow comparisons finish (graceful stop)."""
        if self._shadow_tasks:
            await asyncio.wait(self._shadow_tasks, timeout=timeout)

    # -- headers ---------------------------------------------------------------------------

    def _prepare(self, request: Request) -> tuple[bytes, TraceContext, str | None, HeaderList]:
        incoming = request.headers
        request_id = _header(incoming, b"x-request-id")
        if request_id is None or not _REQUEST_ID.match(request_id):
            request_id = uuid.uuid4().hex.encode()
        parent = _header(incoming, b"traceparent")
        state = _header(incoming, b"tracestate")
        trace = TraceContext.continue_from(parent.decode("latin-1") if parent else None,
                                           state.decode("latin-1") if state else None)
        override = self._override(incoming)
        forwarded_for = [v for n, v in incoming if n.lower() == b"x-forwarded-for"]
        host = _header(incoming, b"host") or b""
        headers = [(n, v) for n, v in end_to_end(incoming)
                   if n.lower() not in _REPLACED and not n.lower().startswith(b"x-strangler-")]
        headers += [
            (b"X-Forwarded-For", b", ".join([*forwarded_for, request.peer.encode()])),
            (b"X-Forwarded-Proto", b"http"), (b"X-Forwarded-Host", host),
            (b"X-Request-ID", request_id), (b"traceparent", trace.traceparent.encode())]
        return request_id, trace, override, headers

    def _override(self, headers: HeaderList) -> str | None:
        wanted = _header(headers, OVERRIDE)
        token = _header(headers, OVERRIDE_TOKEN)
        if wanted is None or token is None or self._tester_token is None:
            return None
        if not hmac.compare_digest(token, self._tester_token):
            return None
        name = wanted.decode("latin-1").strip()
        return name if name in self._pools else None


def _header(headers: HeaderList, name: bytes) -> bytes | None:
    for n, v in headers:
        if n.lower() == name:
            return v
    return None


def _cookie(headers: HeaderList, name: bytes) -> str | None:
    for n, v in headers:
        if n.lower() == b"cookie":
            for part in v.split(b";"):
                key, _, value = part.strip().partition(b"=")
                if key == name:
                    return value.decode("latin-1")
    return None


def _paused(route: Route) -> Response:
    response = error_response(503, "route_paused",
                              f"route {route.id} is paused (a write cutover is in progress)")
    response.headers.append((b"Retry-After", b"1"))
    return response


def _upstream_failure(exc: UpstreamError) -> Response:
    if exc.kind == "timeout":
        return error_response(504, "upstream_timeout", str(exc))
    return error_response(502, "upstream_unavailable", str(exc))
