"""The contract gate: user traffic moves to a service only once its contracts verified.

CI records every provider verification (which provider version, which pacts, passed or not,
and one concrete request per verified interaction). A change that sends user traffic to a
service -- canary or extracted -- is allowed only if that service's newest verification passed
and covered at least one request of the route. Shadow and legacy send users nothing from the
service, so they pass the gate unchecked.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, select

from strangler_messaging.sqltypes import utc_now
from strangler_proxy import tables
from strangler_proxy.matching import RouteTable
from strangler_proxy.routes import KNOWN_METHODS, LEGACY_BACKEND, Mode, Route, RouteError

GATED_MODES = frozenset({Mode.CANARY, Mode.EXTRACTED})
"""Modes that send user traffic to a service."""


@dataclass(frozen=True, slots=True)
class Verification:
    """One recorded provider verification."""

    id: int
    provider: str
    provider_version: str
    pact_hash: str
    passed: bool
    requests: tuple[tuple[str, str], ...]
    verified_at: datetime

    def describe(self) -> str:
        """``catalog (version 1.4.0, pact 3f2a9c01d2e4)`` -- the hash shortened like git's."""
        return f"{self.provider} (version {self.provider_version}, pact {self.pact_hash[:12]})"


@dataclass(frozen=True, slots=True)
class GateDecision:
    """Whether a change may go ahead, and precisely why (or why not)."""

    allowed: bool
    reason: str


def service_share(route: Route | None) -> int:
    """Basis points of the route's user traffic the service answers (0 for no route)."""
    if route is None or route.mode not in GATED_MODES:
        return 0
    return 10_000 if route.mode is Mode.EXTRACTED else route.percent_bps


def needs_gate(before: Route | None, after: Route) -> bool:
    """Whether changing ``before`` into ``after`` must pass the gate.

    It must when ``after`` sends user traffic to a service and something about that traffic is
    new: a different service, different requests (methods or path), or a larger share. Less
    traffic to the same service (extracted back to canary, a lower percentage) never needs it:
    backing off must not be blocked by a failing verification.
    """
    if after.mode not in GATED_MODES:
        return False
    if before is None or before.mode not in GATED_MODES:
        return True
    return (before.service != after.service or before.methods != after.methods
            or before.path != after.path or service_share(after) > service_share(before))


def describe_route(route: Route) -> str:
    """``products-read (GET,HEAD /api/products/{id})``."""
    return f"{route.id} ({','.join(sorted(route.methods))} {route.path})"


def decide(route: Route, latest: Verification | None) -> GateDecision:
    """The gate's verdict on ``route`` given its service's newest verification."""
    if route.mode not in GATED_MODES:
        return GateDecision(True, f"mode {route.mode} sends no user traffic to a service")
    service = route.service
    if service is None or service == LEGACY_BACKEND:
        return GateDecision(False, f"route {route.id} in mode {route.mode} names no service")
    if latest is None:
        return GateDecision(False, f"no verification recorded for {service}")
    if latest.provider != service:
        raise ValueError(f"verification of {latest.provider} given for a route to {service}")
    if not latest.passed:
        return GateDecision(False, f"latest verification of {latest.describe()} failed")
    try:
        table = RouteTable([route], [service])
    except RouteError as exc:
        return GateDecision(False, f"route {route.id} is invalid: {exc}")
    covered = [(method, path) for method, path in latest.requests
               if table.match(method, path.partition("?")[0]) is not None]
    if not covered:
        return GateDecision(False, f"{service}'s verified pacts cover no request of route "
                                   f"{describe_route(route)}")
    method, path = covered[0]
    more = f" and {len(covered) - 1} more" if len(covered) > 1 else ""
    return GateDecision(True, f"verification of {latest.describe()} passed and covers "
                              f"{method} {path}{more}")


class VerificationStore:
    """Provider verifications in the proxy database, and the gate that reads them."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record(self, provider: str, provider_version: str, pact_hash: str, passed: bool,
               requests: Iterable[tuple[str, str]]) -> Verification:
        """Store one verification; ``requests`` are (method, concrete example path) pairs."""
        checked = _checked_requests(requests)
        for field, value, limit in (("provider", provider, 64),
                                    ("provider_version", provider_version, 128),
                                    ("pact_hash", pact_hash, 64)):
            if not value or len(value) > limit:
                raise ValueError(f"{field} must be 1 to {limit} characters")
        now = utc_now()
        with self._engine.begin() as conn:
            result = conn.execute(insert(tables.verifications).values(
                provider=provider, provider_version=provider_version, pact_hash=pact_hash,
                passed=passed, requests=json.dumps([list(r) for r in checked]),
                verified_at=now))
            key = result.inserted_primary_key
            assert key is not None, "an insert always has a primary key"
            new_id = key[0]
        return Verification(int(new_id), provider, provider_version, pact_hash, passed,
                            checked, now)

    def latest(self, provider: str) -> Verification | None:
        """The newest verification of ``provider``, or None if it was never verified."""
        query = (select(tables.verifications).where(tables.verifications.c.provider == provider)
                 .order_by(tables.verifications.c.id.desc()).limit(1))
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return Verification(
            id=int(row.id), provider=row.provider, provider_version=row.provider_version,
            pact_hash=row.pact_hash, passed=bool(row.passed),
            requests=tuple((str(m), str(p)) for m, p in json.loads(row.requests)),
            verified_at=row.verified_at)

    def check(self, route: Route) -> GateDecision:
        """May ``route`` be set? Reads the newest verification of its service."""
        if route.mode not in GATED_MODES or route.service is None:
            return decide(route, None)
        return decide(route, self.latest(route.service))


def _checked_requests(requests: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    checked: list[tuple[str, str]] = []
    for method, path in requests:
        upper = method.upper()
        if upper not in KNOWN_METHODS:
            raise ValueError(f"unknown method {method!r} in verified requests")
        if not path.startswith("/"):
            raise ValueError(f"verified request path {path!r} must start with /")
        checked.append((upper, path))
    return tuple(checked)

