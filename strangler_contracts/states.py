"""Provider states of the product pacts, the same for every backend.

Each backend keeps its own rows; what a state means is decided once, here:

- ``a product exists`` (``id``, ``sku``, optionally ``name``, ``description``,
  ``price_cents``, ``currency``, ``active``) -- that product, at version 1, stored directly in
  the backend's own table with exactly the id and SKU given. Several of them in one
  interaction are created in order, one second apart, which is their listing order.
- ``no product exists`` (``id`` and/or ``sku``) -- nothing to store: every interaction starts
  from an empty catalog.

Teardown empties the backend. A handler never raises: the verifier would retry it for
minutes (docs/notes on pact); a failure is logged and kept, and the interaction then fails on
its own evidence.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

log = logging.getLogger(__name__)

PRODUCT_EXISTS = "a product exists"
NO_PRODUCT = "no product exists"
KNOWN_STATES = frozenset({PRODUCT_EXISTS, NO_PRODUCT, ""})
"""``""`` is what the verifier sends for an interaction without a state."""

FIRST_CREATED_AT = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


class ProductStore(Protocol):
    """Where a backend keeps its products, as the state handler needs it."""

    def insert(self, row: Mapping[str, Any]) -> None:
        """Store one full product row (``catalog_products`` columns)."""

    def clear(self) -> None:
        """Forget every product (and every event the interaction wrote)."""


def product_row(params: Mapping[str, Any], position: int) -> dict[str, Any]:
    """The full row for ``a product exists`` with ``params``, ``position``-th in its
    interaction."""
    created_at = FIRST_CREATED_AT + timedelta(seconds=position)
    sku = str(params["sku"])
    return {"id": str(params["id"]), "sku": sku, "name": str(params.get("name", f"Product {sku}")),
            "description": str(params.get("description", "")),
            "price_cents": int(params.get("price_cents", 1000)),
            "currency": str(params.get("currency", "EUR")),
            "active": bool(params.get("active", True)),
            "version": 1, "created_at": created_at, "updated_at": created_at}


class ProductStateHandler:
    """The verifier's state callback for one backend: ``(state, action, parameters)``."""

    def __init__(self, store: ProductStore) -> None:
        self._store = store
        self._position = 0
        self.problems: list[str] = []
        """What went wrong setting states up, for the report (never raised)."""

    def __call__(self, state: str, action: str, parameters: Mapping[str, Any] | None) -> None:
        try:
            self._handle(state, action, dict(parameters or {}))
        except Exception as exc:
            log.exception("provider state %r (%s) failed", state, action)
            self.problems.append(f"state {state!r} ({action}): {type(exc).__name__}: {exc}")

    def _handle(self, state: str, action: str, params: dict[str, Any]) -> None:
        if action == "teardown":
            self._store.clear()
            self._position = 0
            return
        if state == PRODUCT_EXISTS:
            self._store.insert(product_row(params, self._position))
            self._position += 1
        elif state not in KNOWN_STATES:
            log.warning("unknown provider state %r ignored", state)
            self.problems.append(f"unknown provider state {state!r}")


def state_params(metadata: Mapping[str, Any] | None, state: str) -> dict[str, Any]:
    """The parameters of ``state`` among the provider states the verifier sent a message
    producer (``{"providerStates": [{"name", "params"}]}``); empty if it is not there."""
    for given in (metadata or {}).get("providerStates") or ():
        if given.get("name") == state:
            return dict(given.get("params") or {})
    return {}
