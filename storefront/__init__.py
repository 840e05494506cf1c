"""A small typed client for the Shop's public product API (``/api/products``).

It speaks only the documented HTTP contract (``contracts/openapi.yaml``), so it cannot tell
the monolith from the extracted catalog service, and imports nothing else of this repository:
it can be copied into another codebase as it is. Its consumer pact
(``contracts/pacts/storefront-shop-products.json``) is what both providers are verified against.

Public surface:

- :class:`Storefront` -- the client (a context manager; safe to share between threads);
- :class:`Product` and :class:`ProductPage` -- what it returns;
- :class:`StorefrontError` (and :class:`StorefrontUnavailable`) -- what it raises.
"""

from storefront._client import DEFAULT_TIMEOUT, Storefront
from storefront._errors import FieldError, StorefrontError, StorefrontUnavailable
from storefront._models import MUTABLE_FIELDS, Product, ProductPage

__all__ = [
    "DEFAULT_TIMEOUT",
    "MUTABLE_FIELDS",
    "FieldError",
    "Product",
    "ProductPage",
    "Storefront",
    "StorefrontError",
    "StorefrontUnavailable",
]
