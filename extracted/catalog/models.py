"""A product as the service holds it: a row of ``catalog_products`` and its public shape.

The public shape (:func:`snapshot`) is the monolith's ``Product.snapshot()``: the same keys
in the same order, timestamps as RFC 3339 with milliseconds. The API, the events and the
reconcile digests all go through it, so they agree with the monolith's by construction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

ProductData = dict[str, Any]

STATE_FIELDS = ("id", "sku", "name", "description", "price_cents", "currency", "active",
                "created_at", "updated_at")


def snapshot(row: Mapping[Any, Any]) -> ProductData:
    """The product as the API and every event present it (JSON-ready)."""
    return {
        "id": row["id"],
        "sku": row["sku"],
        "name": row["name"],
        "description": row["description"],
        "price_cents": row["price_cents"],
        "currency": row["currency"],
        "active": row["active"],
        "created_at": row["created_at"].isoformat(timespec="milliseconds"),
        "updated_at": row["updated_at"].isoformat(timespec="milliseconds"),
    }


def row_from_state(state: Mapping[str, Any], version: int) -> dict[str, Any]:
    """The ``catalog_products`` row for a product's full state (an event's ``data``)."""
    row = {name: state[name] for name in STATE_FIELDS}
    row["created_at"] = datetime.fromisoformat(state["created_at"])
    row["updated_at"] = datetime.fromisoformat(state["updated_at"])
    row["version"] = version
    return row
