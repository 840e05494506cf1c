"""The operations on the route table that the admin API, the CLI and the tests call.

Every operation validates the whole resulting table before anything is written, passes the
contract gate when it sends more user traffic to a service, and is audited -- including the
refusals. ``force`` overrides the gate, never validation, and only with a reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import yaml

from strangler_proxy.gate import GateDecision, needs_gate
from strangler_proxy.matching import RouteTable
from strangler_proxy.routes import Route, RouteError
from strangler_proxy.store import AuditEntry, Change, RouteStore

ROUTE_FIELDS = frozenset({"id", "methods", "path", "mode", "service", "percent_bps",
                          "sticky_key", "fallback", "shadow", "hash_version", "paused"})
_SHADOW_FIELDS = {"ignore_paths": list, "compare_headers": list, "include_unsafe": bool,
                  "noise_cancellation": bool}
_STRING_FIELDS = ("path", "mode", "sticky_key", "fallback")


class Gate(Protocol):
    """Decides whether a route may send user traffic to its service."""

    def check(self, route: Route) -> GateDecision:
        """The verdict on ``route``."""
        ...


class GateRefused(Exception):
    """The contract gate refused a change (and the refusal was audited)."""

    def __init__(self, refusals: Sequence[tuple[str, str]]) -> None:
        self.refusals = tuple(refusals)
        super().__init__("; ".join(reason for _, reason in self.refusals))

    @property
    def reason(self) -> str:
        """Every refusal's reason, joined."""
        return str(self)


class RouteNotFound(LookupError):
    """No such route (or nothing recorded to roll back)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Applied:
    """The outcome of one route operation."""

    table_version: int
    route: Route | None
    changed: bool
    forced: bool = False
    gate: GateDecision | None = None


@dataclass(frozen=True, slots=True)
class Imported:
    """The outcome of an import: which routes were set and which removed."""

    table_version: int
    set_ids: tuple[str, ...]
    removed_ids: tuple[str, ...]
    forced: bool


class RouteControl:
    """Validated, gated, audited changes of the route table."""

    def __init__(self, store: RouteStore, gate: Gate) -> None:
        self.store = store
        self.gate = gate

    def table(self) -> RouteTable:
        """The current table."""
        return self.store.load()

    def get(self, route_id: str) -> Route:
        """One route; raises :class:`RouteNotFound`."""
        route = self.store.load().get(route_id)
        if route is None:
            raise RouteNotFound(f"no route {route_id}")
        return route

    def set_route(self, route: Route, actor: str, reason: str, force: bool = False,
                  source: str = "api") -> Applied:
        """Create or replace ``route``; unchanged routes are not written again."""
        table = self.store.load()
        if table.get(route.id) == route:
            _require_reason(reason, force)
            return Applied(table.version, route, changed=False)
        return self._apply(table, [Change(route.id, route)], actor=actor, reason=reason,
                           force=force, source=source, action="set")

    def delete_route(self, route_id: str, actor: str, reason: str,
                     source: str = "api") -> Applied:
        """Remove a route: its requests go back to the legacy backend."""
        table = self.store.load()
        if table.get(route_id) is None:
            raise RouteNotFound(f"no route {route_id}")
        return self._apply(table, [Change(route_id, None)], actor=actor, reason=reason,
                           force=False, source=source, action="delete")

    def rollback(self, route_id: str, actor: str, reason: str, force: bool = False,
                 source: str = "api") -> Applied:
        """Restore the route as it was before its last change (deleting it if it was new).

        A rollback is itself a change, so rolling back twice restores the rolled-back state.
        It passes the gate like any change when it would send more traffic to a service.
        """
        last = self.store.last_change(route_id)
        if last is None:
            raise RouteNotFound(f"route {route_id} has no recorded change to roll back")
        restored = Route.from_dict(last.before) if last.before is not None else None
        return self._apply(self.store.load(), [Change(route_id, restored)], actor=actor,
                           reason=reason, force=force, source=source, action="rollback")

    def history(self, route_id: str | None = None, limit: int = 50) -> list[AuditEntry]:
        """Audit entries, newest first."""
        return self.store.history(route_id=route_id, limit=limit)

    def export_yaml(self) -> str:
        """The whole table as YAML: ``routes:``, a list of route documents, ordered by id."""
        table = self.store.load()
        doc = {"table_version": table.version,
               "routes": [r.to_dict() for r in sorted(table.routes, key=lambda r: r.id)]}
        return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)

    def import_yaml(self, text: str, actor: str, reason: str, force: bool = False,
                    source: str = "api") -> Imported:
        """Replace the whole table with the YAML document's, atomically.

        Routes missing from the document are removed; each difference is audited as action
        ``import``. An invalid document or a gate refusal changes nothing.
        """
        routes = parse_table_yaml(text)
        table = self.store.load()
        wanted = {route.id: route for route in routes}
        changes = [Change(r.id, r) for r in routes if table.get(r.id) != r]
        changes += [Change(r.id, None) for r in table.routes if r.id not in wanted]
        if not changes:
            _require_reason(reason, force)
            return Imported(table.version, (), (), forced=False)
        applied = self._apply(table, changes, actor=actor, reason=reason, force=force,
                              source=source, action="import")
        return Imported(applied.table_version,
                        tuple(c.route_id for c in changes if c.after is not None),
                        tuple(c.route_id for c in changes if c.after is None), applied.forced)

    def _apply(self, table: RouteTable, changes: list[Change], *, actor: str, reason: str,
               force: bool, source: str, action: str) -> Applied:
        _require_reason(reason, force)
        proposed = {route.id: route for route in table.routes}
        for change in changes:
            if change.after is None:
                proposed.pop(change.route_id, None)
            else:
                proposed[change.route_id] = change.after
        RouteTable(proposed.values(), self.store.backends)  # invalid: RouteError, nothing audited
        decisions: list[tuple[Route, GateDecision]] = [
            (c.after, self.gate.check(c.after)) for c in changes
            if c.after is not None and needs_gate(table.get(c.route_id), c.after)]
        refused = [(route, d) for route, d in decisions if not d.allowed]
        if refused and not force:
            for route, decision in refused:
                self.store.note(actor=actor, source=source, action="refused", route_id=route.id,
                                reason=f"gate refused {route.mode} to {route.service}: "
                                       f"{decision.reason} (requested: {reason})")
            raise GateRefused([(route.id, d.reason) for route, d in refused])
        audited = reason
        if refused:
            audited = f"{reason} [forced past the gate: " + "; ".join(
                d.reason for _, d in refused) + "]"
        version = self.store.change(changes, actor=actor, source=source, action=action,
                                    reason=audited, forced=bool(refused))
        after = changes[0].after if len(changes) == 1 else None
        gate = decisions[0][1] if len(decisions) == 1 else None
        return Applied(version, after, changed=True, forced=bool(refused), gate=gate)


def _require_reason(reason: str, force: bool) -> None:
    if not reason.strip():
        raise RouteError("forcing past the gate needs a reason" if force
                         else "every change needs a reason")


def parse_route(doc: Mapping[str, Any]) -> Route:
    """A route from a JSON/YAML document, with exact types (``"10"`` is not a number).

    Raises :class:`RouteError` naming the field. The route is not validated yet.
    """
    name = doc.get("id", "?")
    unknown = sorted(set(doc) - ROUTE_FIELDS)
    if unknown:
        raise RouteError(f"{name}: unknown field(s) {', '.join(map(str, unknown))}")
    for required in ("id", "methods", "path"):
        if required not in doc:
            raise RouteError(f"{name}: {required} is required")
    if not isinstance(doc["id"], str):
        raise RouteError(f"{name}: id must be a string")
    if not _strings(doc["methods"]):
        raise RouteError(f"{name}: methods must be a list of strings")
    for field in _STRING_FIELDS:
        if field in doc and not isinstance(doc[field], str):
            raise RouteError(f"{name}: {field} must be a string")
    if doc.get("service") is not None and not isinstance(doc["service"], str):
        raise RouteError(f"{name}: service must be a string or null")
    for field in ("percent_bps", "hash_version"):
        if field in doc and (not isinstance(doc[field], int) or isinstance(doc[field], bool)):
            raise RouteError(f"{name}: {field} must be an integer")
    if "paused" in doc and not isinstance(doc["paused"], bool):
        raise RouteError(f"{name}: paused must be true or false")
    shadow = doc.get("shadow")
    if shadow is not None:
        if not isinstance(shadow, Mapping):
            raise RouteError(f"{name}: shadow must be a mapping")
        for key, value in shadow.items():
            kind = _SHADOW_FIELDS.get(key)
            if kind is None:
                raise RouteError(f"{name}: unknown shadow field {key}")
            if not isinstance(value, kind) or (kind is list and not _strings(value)):
                what = "a list of strings" if kind is list else "true or false"
                raise RouteError(f"{name}: shadow.{key} must be {what}")
    return Route.from_dict(doc)


def parse_table_yaml(text: str) -> list[Route]:
    """The routes of an exported table (``routes:`` list); raises :class:`RouteError`."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RouteError(f"not valid YAML: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("routes"), list):
        raise RouteError("the document needs a top-level routes: list")
    unknown = sorted(set(doc) - {"routes", "table_version"})
    if unknown:
        raise RouteError(f"unknown top-level key(s) {', '.join(map(str, unknown))}")
    routes: list[Route] = []
    for n, item in enumerate(doc["routes"]):
        if not isinstance(item, dict):
            raise RouteError(f"routes[{n}] is not a mapping")
        route = parse_route(item)
        if any(r.id == route.id for r in routes):
            raise RouteError(f"duplicate route id {route.id}")
        routes.append(route)
    return routes


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)
