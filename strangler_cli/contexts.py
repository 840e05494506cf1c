"""Bounded contexts the operations commands know: where their state lives on each side.

``strangler backfill <context>`` emits the source side's state as snapshot events;
``strangler reconcile <context>`` compares source and target and can repair the drift.
A context gets its target when the service that holds its copy is deployed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from strangler_messaging.backfill import SnapshotSource
from strangler_messaging.reconcile import StateReader


@dataclass(frozen=True, slots=True)
class Context:
    """One context: its source database and readers, and its target, once there is one."""

    name: str
    source_database: str
    event_source: str
    origin: str
    snapshots: Callable[[], SnapshotSource]
    source_states: Callable[[Engine], StateReader]
    target_database: str | None = None
    target_states: Callable[[Engine], StateReader] | None = None


def _catalog() -> Context:
    from extracted.catalog.states import ProductCopyStates
    from legacy_monolith.catalog.snapshots import ProductSnapshots, ProductStates

    return Context("catalog", "monolith", "/shop/monolith", "monolith", ProductSnapshots,
                   ProductStates, target_database="catalog", target_states=ProductCopyStates)


CONTEXTS: dict[str, Callable[[], Context]] = {"catalog": _catalog}
