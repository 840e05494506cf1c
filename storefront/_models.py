"""What the API returns, as frozen dataclasses parsed strictly from JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

MUTABLE_FIELDS = ("sku", "name", "description", "price_cents", "currency", "active")
"""The fields a client sets (``POST``, ``PUT``) or changes (``PATCH``)."""


class ResponseShapeError(ValueError):
    """A 2xx body that is not what the contract promises."""


@dataclass(frozen=True, slots=True)
class Product:
    """A product as the API presents it (``components/schemas/Product``)."""

    id: str
    sku: str
    name: str
    description: str
    price_cents: int
    currency: str
    active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_json(cls, doc: Any) -> Product:
        """Parse one product object; :class:`ResponseShapeError` if it is not one."""
        if not isinstance(doc, Mapping):
            raise ResponseShapeError(f"a product must be a JSON object, got {_kind(doc)}")
        return cls(
            id=_field(doc, "id", str),
            sku=_field(doc, "sku", str),
            name=_field(doc, "name", str),
            description=_field(doc, "description", str),
            price_cents=_field(doc, "price_cents", int),
            currency=_field(doc, "currency", str),
            active=_field(doc, "active", bool),
            created_at=_timestamp(doc, "created_at"),
            updated_at=_timestamp(doc, "updated_at"),
        )


@dataclass(frozen=True, slots=True)
class ProductPage:
    """One page of a product listing, oldest first."""

    items: tuple[Product, ...]
    page: int
    per_page: int
    total: int

    @property
    def has_next(self) -> bool:
        """Whether a later page holds more products."""
        return self.page * self.per_page < self.total

    @classmethod
    def from_json(cls, doc: Any) -> ProductPage:
        """Parse the list envelope ``{items, page, per_page, total}``."""
        items, page, per_page, total = _page(doc)
        return cls(items=tuple(Product.from_json(item) for item in items),
                   page=page, per_page=per_page, total=total)


@dataclass(frozen=True, slots=True)
class Notification:
    """A message recorded for a customer (``components/schemas/Notification``)."""

    id: str
    customer_id: str
    kind: str
    """``welcome``, ``order_placed`` or ``order_cancelled``."""
    recipient: str | None
    """The customer's email, or None when the Shop did not know it yet."""
    subject: str
    body: str
    created_at: datetime

    @classmethod
    def from_json(cls, doc: Any) -> Notification:
        """Parse one notification object; :class:`ResponseShapeError` if it is not one."""
        if not isinstance(doc, Mapping):
            raise ResponseShapeError(f"a notification must be a JSON object, got {_kind(doc)}")
        return cls(
            id=_field(doc, "id", str),
            customer_id=_field(doc, "customer_id", str),
            kind=_field(doc, "kind", str),
            recipient=_nullable_field(doc, "recipient", str),
            subject=_field(doc, "subject", str),
            body=_field(doc, "body", str),
            created_at=_timestamp(doc, "created_at"),
        )


@dataclass(frozen=True, slots=True)
class NotificationPage:
    """One page of a customer's notifications, oldest first."""

    items: tuple[Notification, ...]
    page: int
    per_page: int
    total: int

    @property
    def has_next(self) -> bool:
        """Whether a later page holds more notifications."""
        return self.page * self.per_page < self.total

    @classmethod
    def from_json(cls, doc: Any) -> NotificationPage:
        """Parse the list envelope ``{items, page, per_page, total}``."""
        items, page, per_page, total = _page(doc)
        return cls(items=tuple(Notification.from_json(item) for item in items),
                   page=page, per_page=per_page, total=total)


def _page(doc: Any) -> tuple[list[Any], int, int, int]:
    """The raw items and the numbers of a list envelope."""
    if not isinstance(doc, Mapping):
        raise ResponseShapeError(f"a page must be a JSON object, got {_kind(doc)}")
    items = doc.get("items")
    if not isinstance(items, list):
        raise ResponseShapeError(f"items must be a JSON array, got {_kind(items)}")
    return (items, _field(doc, "page", int), _field(doc, "per_page", int),
            _field(doc, "total", int))


def _field(doc: Mapping[str, Any], name: str, kind: type[Any]) -> Any:
    value = doc.get(name)
    # bool is an int in Python, but not in JSON: true is no price.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ResponseShapeError(f"{name} must be a {kind.__name__}, got {_kind(value)}")
    return value


def _nullable_field(doc: Mapping[str, Any], name: str, kind: type[Any]) -> Any:
    """A field that must be present, as ``kind`` or null."""
    if name not in doc:
        raise ResponseShapeError(f"{name} is missing (it may be null, not absent)")
    return None if doc[name] is None else _field(doc, name, kind)


def _timestamp(doc: Mapping[str, Any], name: str) -> datetime:
    raw = _field(doc, name, str)
    try:
        value = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise ResponseShapeError(f"{name} is not an RFC 3339 timestamp: {raw!r}") from exc
    if value.tzinfo is None:
        raise ResponseShapeError(f"{name} has no UTC offset: {raw!r}")
    return value


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
