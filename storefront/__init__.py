"""A small typed client for the Shop's public product API (``/api/products``) and its
notification listing (``/api/notifications``).

It speaks only the documented HTTP contract (``contracts/openapi.yaml``), so it cannot tell
the monolith from an extracted service (catalog, notifications), and imports nothing else of
this repository: it can be copied into another codebase as it is. Its consumer pacts
(``contracts/pacts/storefront-shop-products.json``, ``storefront-shop-notifications.json``) are
what the monolith and each extracted service are verified against.

Public surface:

- :class:`Storefront` -- the client (a context manager; safe to share between threads);
- :class:`Product`, :class:`ProductPage`, :class:`Notification` and
  :class:`NotificationPage` -- what it returns;
- :class:`StorefrontError` (and :class:`StorefrontUnavailable`) -- what it raises.
"""

from storefront._client import DEFAULT_TIMEOUT, Storefront
from storefront._errors import FieldError, StorefrontError, StorefrontUnavailable
from storefront._models import (
    MUTABLE_FIELDS,
    Notification,
    NotificationPage,
    Product,
    ProductPage,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "MUTABLE_FIELDS",
    "FieldError",
    "Notification",
    "NotificationPage",
    "Product",
    "ProductPage",
    "Storefront",
    "StorefrontError",
    "StorefrontUnavailable",
]
