"""Routes as data: what each route matches, where it sends traffic, and how it is validated.

A route matches a set of methods and a path template. Template segments are literals,
``{name}`` (exactly one segment) or a final ``{name*}`` (the rest of the path, possibly empty).
When several routes match a request, the most specific wins: compared segment by segment, a
literal beats a parameter, which beats a tail. Two routes that could match the same request
with the same specificity are ambiguous, and a table containing them is refused.

Requests no route matches go to the legacy backend: that is an invariant of the table, not a
route someone could delete.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

LEGACY_BACKEND = "monolith"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
KNOWN_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"})
HASH_VERSION = 1
"""Version of the canary bucketing hash; stored with each route so a change never reshuffles."""

_ROUTE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_PARAM = re.compile(r"^\{([a-z_][a-z0-9_]*)(\*?)\}$")
_LITERAL = re.compile(r"^[A-Za-z0-9._~!$&'()+,;=:@-]+$")
_STICKY = re.compile(r"^(header:[A-Za-z0-9-]+|cookie:[A-Za-z0-9_.-]+|client)$")


class Mode(StrEnum):
    """Who answers a route's requests."""

    LEGACY = "legacy"
    SHADOW = "shadow"
    CANARY = "canary"
    EXTRACTED = "extracted"


class Fallback(StrEnum):
    """When a failed service request may be retried on the legacy backend."""

    SAFE = "safe"
    NEVER = "never"


class RouteError(ValueError):
    """A route or a table that must not be loaded."""


@dataclass(frozen=True, slots=True)
class ShadowOptions:
    """How shadow mode mirrors and compares."""

    ignore_paths: tuple[str, ...] = ()
    compare_headers: tuple[str, ...] = ("content-type",)
    include_unsafe: bool = False
    noise_cancellation: bool = False


@dataclass(frozen=True, slots=True)
class Route:
    """One routing rule."""

    id: str
    methods: frozenset[str]
    path: str
    mode: Mode = Mode.LEGACY
    service: str | None = None
    percent_bps: int = 0
    sticky_key: str = "client"
    fallback: Fallback = Fallback.SAFE
    shadow: ShadowOptions = field(default_factory=ShadowOptions)
    hash_version: int = HASH_VERSION
    paused: bool = False
    """Hold matching requests (do not forward them) until the route is unpaused: the window
    in which a write cutover fences one side and drains the sync. Held requests wait up to the
    data plane's hold timeout, then get 503 ``route_paused``."""

    @property
    def segments(self) -> tuple[str, ...]:
        """The template split on ``/`` (without the leading empty segment)."""
        return tuple(self.path.split("/")[1:])

    def specificity(self) -> tuple[int, ...]:
        """Per segment: 2 literal, 1 parameter, 0 tail; longer templates win ties."""
        return (*(_rank(s) for s in self.segments), 3)

    def to_dict(self) -> dict[str, Any]:
        """JSON/YAML-ready form (the export format)."""
        return {
            "id": self.id, "methods": sorted(self.methods), "path": self.path,
            "mode": self.mode.value, "service": self.service, "percent_bps": self.percent_bps,
            "sticky_key": self.sticky_key, "fallback": self.fallback.value,
            "shadow": {"ignore_paths": list(self.shadow.ignore_paths),
                       "compare_headers": list(self.shadow.compare_headers),
                       "include_unsafe": self.shadow.include_unsafe,
                       "noise_cancellation": self.shadow.noise_cancellation},
            "hash_version": self.hash_version,
            "paused": self.paused,
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Route:
        """Parse the export format; raises :class:`RouteError` with the offending field."""
        try:
            shadow = doc.get("shadow") or {}
            return cls(
                id=str(doc["id"]),
                methods=frozenset(str(m).upper() for m in doc["methods"]),
                path=str(doc["path"]),
                mode=Mode(doc.get("mode", "legacy")),
                service=doc.get("service"),
                percent_bps=int(doc.get("percent_bps", 0)),
                sticky_key=str(doc.get("sticky_key", "client")),
                fallback=Fallback(doc.get("fallback", "safe")),
                shadow=ShadowOptions(
                    ignore_paths=tuple(shadow.get("ignore_paths", ())),
                    compare_headers=tuple(h.lower() for h in shadow.get(
                        "compare_headers", ("content-type",))),
                    include_unsafe=bool(shadow.get("include_unsafe", False)),
                    noise_cancellation=bool(shadow.get("noise_cancellation", False))),
                hash_version=int(doc.get("hash_version", HASH_VERSION)),
                paused=bool(doc.get("paused", False)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise RouteError(f"malformed route {doc.get('id', '?')!r}: {exc}") from exc


def _rank(segment: str) -> int:
    match = _PARAM.match(segment)
    if match is None:
        return 2
    return 0 if match.group(2) else 1


def validate_route(route: Route, backends: Iterable[str]) -> None:
    """Check one route on its own; raises :class:`RouteError`."""
    known = set(backends)
    if not _ROUTE_ID.match(route.id):
        raise RouteError(f"route id {route.id!r} must be lower-case letters, digits and dashes")
    if not route.methods or not route.methods <= KNOWN_METHODS:
        raise RouteError(f"{route.id}: methods must be among {sorted(KNOWN_METHODS)}")
    if not route.path.startswith("/"):
        raise RouteError(f"{route.id}: path must start with /")
    segments = route.segments
    for n, segment in enumerate(segments):
        param = _PARAM.match(segment)
        if param and param.group(2) and n != len(segments) - 1:
            raise RouteError(f"{route.id}: a tail parameter must be the last segment")
        if not param and not _LITERAL.match(segment):
            raise RouteError(f"{route.id}: bad path segment {segment!r}")
    if route.mode is Mode.LEGACY:
        if route.service not in (None, LEGACY_BACKEND):
            raise RouteError(f"{route.id}: a legacy route has no service")
    else:
        if route.service is None or route.service == LEGACY_BACKEND:
            raise RouteError(f"{route.id}: mode {route.mode} needs a service other than "
                             f"{LEGACY_BACKEND}")
        if route.service not in known:
            raise RouteError(f"{route.id}: unknown backend {route.service!r}")
    if not 0 <= route.percent_bps <= 10_000:
        raise RouteError(f"{route.id}: percent_bps must be between 0 and 10000")
    if route.mode is Mode.CANARY and route.percent_bps in (0, 10_000):
        raise RouteError(f"{route.id}: a canary sends between 1 and 9999 basis points; "
                         "use legacy or extracted for 0 or 10000")
    if not _STICKY.match(route.sticky_key):
        raise RouteError(f"{route.id}: sticky_key must be header:<name>, cookie:<name> or client")
    if route.hash_version != HASH_VERSION:
        raise RouteError(f"{route.id}: unknown hash_version {route.hash_version}")


def overlap(a: Route, b: Route) -> bool:
    """Whether some request could match both templates (methods included)."""
    if not a.methods & b.methods:
        return False
    sa, sb = a.segments, b.segments
    for n in range(max(len(sa), len(sb))):
        x = sa[n] if n < len(sa) else None
        y = sb[n] if n < len(sb) else None
        if (x is not None and _rank(x) == 0) or (y is not None and _rank(y) == 0):
            return True
        if x is None or y is None:
            return False
        if _rank(x) == 2 and _rank(y) == 2 and x != y:
            return False
    return True


def validate_table(routes: Iterable[Route], backends: Iterable[str]) -> list[Route]:
    """Validate every route and the table as a whole; returns the routes, most specific first."""
    backends = list(backends)
    checked: list[Route] = []
    seen: set[str] = set()
    for route in routes:
        validate_route(route, backends)
        if route.id in seen:
            raise RouteError(f"duplicate route id {route.id}")
        seen.add(route.id)
        checked.append(route)
    for n, a in enumerate(checked):
        for b in checked[n + 1:]:
            if overlap(a, b) and a.specificity() == b.specificity():
                raise RouteError(f"routes {a.id} and {b.id} are ambiguous: both match some "
                                 "request with the same specificity")
    return sorted(checked, key=lambda r: r.specificity(), reverse=True)
