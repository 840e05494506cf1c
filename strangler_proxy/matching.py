"""Finding the route of a request, and the canary bucket of a caller: the hot path's logic."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from strangler_proxy.routes import Route, validate_table


@dataclass(frozen=True, slots=True)
class _Compiled:
    route: Route
    kinds: tuple[int, ...]  # per segment: 2 literal, 1 parameter, 0 tail
    literals: tuple[str, ...]


class RouteTable:
    """An immutable, validated snapshot of the routes; swapped whole on reload."""

    def __init__(self, routes: Iterable[Route], backends: Iterable[str], version: int = 0
                 ) -> None:
        self.version = version
        self.routes: Sequence[Route] = validate_table(routes, backends)
        self._compiled = [
            _Compiled(r, tuple(_kind(s) for s in r.segments), r.segments) for r in self.routes]

    def match(self, method: str, path: str) -> Route | None:
        """The most specific route for ``method`` and the raw ``path``; None means legacy."""
        parts = path.split("/")[1:]
        for entry in self._compiled:
            if method in entry.route.methods and _fits(entry, parts):
                return entry.route
        return None

    def get(self, route_id: str) -> Route | None:
        """A route by id."""
        return next((r for r in self.routes if r.id == route_id), None)


def _kind(segment: str) -> int:
    if segment.startswith("{") and segment.endswith("}"):
        return 0 if segment.endswith("*}") else 1
    return 2


def _fits(entry: _Compiled, parts: list[str]) -> bool:
    kinds, literals = entry.kinds, entry.literals
    for n, kind in enumerate(kinds):
        if kind == 0:
            return True
        if n >= len(parts):
            return False
        part = parts[n]
        if kind == 2:
            if part != literals[n]:
                return False
        elif not part:
            return False
    return len(parts) == len(kinds)


def bucket(route_id: str, key: str, hash_version: int = 1) -> int:
    """The caller's canary bucket, 0..9999 -- stable for a route and key, whatever the percent.

    A caller is in the canary when ``bucket < percent_bps``: raising the percentage keeps
    everyone who was already in. Version 1 is BLAKE2b-64 of ``route_id:key`` modulo 10,000.
    """
    if hash_version != 1:
        raise ValueError(f"unknown hash version {hash_version}")
    digest = hashlib.blake2b(f"{route_id}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % 10_000
