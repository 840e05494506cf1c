"""Provider states of the pacts, the same for every backend.

Each backend keeps its own rows; what a state means is decided once, here:

- ``a product exists`` (``id``, ``sku``, optionally ``name``, ``description``,
  ``price_cents``, ``currency``, ``active``) -- that product, at version 1, stored directly in
  the backend's own table with exactly the id and SKU given;
- ``no product exists`` (``id`` and/or ``sku``) -- nothing to store;
- ``a notification exists`` (``id``, ``customer_id``, optionally ``kind``, ``recipient`` --
  null unless given --, ``subject``, ``body``) -- that notification, stored directly in the
  backend's own table;
- ``no notification exists`` (``customer_id``) -- nothing to store;
- ``notifications are handled by`` (``owner``: ``monolith`` or ``notifications``) -- the
  monolith's ``notifications`` ownership row names ``owner``, so the decisions it publishes
  name it (message pacts only).

Every interaction starts from empty tables: the rows of one interaction are created in order,
one second apart, which is their listing order, and teardown empties the backend. A handler
never raises: the verifier would retry it for minutes (docs/notes on pact); a failure is logged
and kept, and the interaction then fails on its own evidence.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

log = logging.getLogger(__name__)

PRODUCT_EXISTS = "a product exists"
NO_PRODUCT = "no product exists"
NOTIFICATION_EXISTS = "a notification exists"
NO_NOTIFICATION = "no notification exists"
NOTIFICATIONS_OWNER = "notifications are handled by"

FIRST_CREATED_AT = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)

Insert = Callable[[Mapping[str, Any]], None]
"""Stores one full row in a backend's own table."""
RowBuilder = Callable[[Mapping[str, Any], int], dict[str, Any]]
"""The row a state's parameters describe, given its position among the interaction's rows."""
Setup = Callable[[Mapping[str, Any]], None]


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


def notification_row(params: Mapping[str, Any], position: int) -> dict[str, Any]:
    """The public columns for ``a notification exists`` with ``params``, ``position``-th in its
    interaction (each backend adds the columns only it has)."""
    kind = str(params.get("kind", "welcome"))
    recipient = params.get("recipient")
    return {"id": str(params["id"]), "customer_id": str(params["customer_id"]), "kind": kind,
            "recipient": None if recipient is None else str(recipient),
            "subject": str(params.get("subject", f"About your {kind.replace('_', ' ')}")),
            "body": str(params.get("body", f"A {kind.replace('_', ' ')} notification.")),
            "created_at": FIRST_CREATED_AT + timedelta(seconds=position)}


class StateHandler:
    """The verifier's state callback for one backend: ``(state, action, parameters)``.

    Built per backend from the states it knows (:meth:`storing`, :meth:`setting`,
    :meth:`nothing`); ``teardown`` empties the backend after every interaction.
    """

    def __init__(self, teardown: Callable[[], None]) -> None:
        self._teardown = teardown
        self._setups: dict[str, Setup] = {"": _nothing}
        """``""`` is what the verifier sends for an interaction without a state."""
        self._position = 0
        self.problems: list[str] = []
        """What went wrong setting states up, for the report (never raised)."""

    @property
    def states(self) -> frozenset[str]:
        """The states this backend knows."""
        return frozenset(self._setups) - {""}

    def storing(self, state: str, build: RowBuilder, insert: Insert) -> StateHandler:
        """``state`` stores the row ``build`` makes of its parameters with ``insert``."""

        def store(params: Mapping[str, Any]) -> None:
            insert(build(params, self._position))
            self._position += 1

        self._setups[state] = store
        return self

    def setting(self, state: str, setup: Setup) -> StateHandler:
        """``state`` calls ``setup`` with its parameters."""
        self._setups[state] = setup
        return self

    def nothing(self, *states: str) -> StateHandler:
        """``states`` need nothing stored: every interaction starts from empty tables."""
        for state in states:
            self._setups[state] = _nothing
        return self

    def __call__(self, state: str, action: str, parameters: Mapping[str, Any] | None) -> None:
        try:
            self._handle(state, action, dict(parameters or {}))
        except Exception as exc:
            log.exception("provider state %r (%s) failed", state, action)
            self.problems.append(f"state {state!r} ({action}): {type(exc).__name__}: {exc}")

    def _handle(self, state: str, action: str, params: dict[str, Any]) -> None:
        if action == "teardown":
            self._position = 0
            self._teardown()
            return
        setup = self._setups.get(state)
        if setup is None:
            log.warning("unknown provider state %r ignored", state)
            self.problems.append(f"unknown provider state {state!r}")
            return
        setup(params)


def _nothing(_params: Mapping[str, Any]) -> None:
    """A state that needs nothing stored."""


def product_states(handler: StateHandler, insert: Insert) -> StateHandler:
    """``handler`` knowing the product states, storing products with ``insert``."""
    return handler.storing(PRODUCT_EXISTS, product_row, insert).nothing(NO_PRODUCT)


def notification_states(handler: StateHandler, insert: Insert) -> StateHandler:
    """``handler`` knowing the notification states, storing notifications with ``insert``."""
    return handler.storing(NOTIFICATION_EXISTS, notification_row, insert).nothing(
        NO_NOTIFICATION)


def state_params(metadata: Mapping[str, Any] | None, state: str) -> dict[str, Any]:
    """The parameters of ``state`` among the provider states the verifier sent a message
    producer (``{"providerStates": [{"name", "params"}]}``); empty if it is not there."""
    for given in (metadata or {}).get("providerStates") or ():
        if given.get("name") == state:
            return dict(given.get("params") or {})
    return {}
