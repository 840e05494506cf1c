"""Bounded contexts the operations commands know: where their state lives on each side.

``strangler backfill <context>`` emits the source side's state as snapshot events;
``strangler reconcile <context>`` compares source and target and can repair the drift;
``strangler ownership move <context>`` moves its writes between the sides. A context gets its
target when the service that holds its copy is deployed, and its write routes when that service
can take the writes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from strangler_messaging.backfill import SnapshotSource
from strangler_messaging.ownership import WriteOwnership
from strangler_messaging.reconcile import StateReader


@dataclass(frozen=True, slots=True)
class WriteRoute:
    """A proxy route that carries the context's writes (it follows the write owner)."""

    id: str
    methods: tuple[str, ...]
    path: str


@dataclass(frozen=True, slots=True)
class Context:
    """One context: its source database and readers, and its target, once there is one."""

    name: str
    source_database: str
    event_source: str
    origin: str
    snapshots: Callable[[], SnapshotSource] | None = None
    source_states: Callable[[Engine], StateReader] | None = None
    target_database: str | None = None
    target_states: Callable[[Engine], StateReader] | None = None
    write_routes: tuple[WriteRoute, ...] = ()
    source_ownership: Callable[[], WriteOwnership] | None = None
    target_ownership: Callable[[], WriteOwnership] | None = None
    """Each side's view of the write-ownership row, in that side's database. The proxy
    backend names of the sides are the database names."""
    decided_at_source: bool = False
    """The source decides, per event and atomically with it, which side handles it (events a
    context reacts to, rather than writes it takes): moving ownership is then one change in the
    source database, with no pause and no drain."""


def _catalog() -> Context:
    from extracted.catalog.states import ProductCopyStates
    from extracted.catalog.writes import write_ownership
    from legacy_monolith.catalog.ownership import catalog_write_ownership
    from legacy_monolith.catalog.snapshots import ProductSnapshots, ProductStates

    return Context(
        "catalog", "monolith", "/shop/monolith", "monolith", ProductSnapshots, ProductStates,
        target_database="catalog", target_states=ProductCopyStates,
        write_routes=(WriteRoute("products-create", ("POST",), "/api/products"),
                      WriteRoute("products-write", ("DELETE", "PATCH", "PUT"),
                                 "/api/products/{id}")),
        source_ownership=catalog_write_ownership, target_ownership=write_ownership)


def _notifications() -> Context:
    from extracted.notifications.recording import write_ownership
    from legacy_monolith.notifications.ownership import notifications_ownership

    return Context("notifications", "monolith", "/shop/monolith", "monolith",
                   target_database="notifications", source_ownership=notifications_ownership,
                   target_ownership=write_ownership, decided_at_source=True)


CONTEXTS: dict[str, Callable[[], Context]] = {"catalog": _catalog,
                                              "notifications": _notifications}
