"""The client: one method per operation of ``/api/products``, and the notifications listing."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from storefront._errors import StorefrontError, StorefrontUnavailable
from storefront._models import MUTABLE_FIELDS, NotificationPage, Product, ProductPage

DEFAULT_TIMEOUT = 10.0
"""Seconds to wait for a connection and for each read."""
_DEFAULT_HEADERS = {"Accept": "application/json", "User-Agent": "storefront/0.1"}
T = TypeVar("T")


class Storefront:
    """A client of the Shop's product and notification API at ``base_url`` (the proxy's stable
    URL, or a backend's own).

    Safe to share between threads: it keeps no per-request state, and the :class:`httpx.Client`
    it sends through may be shared between threads. A client handed in as ``client`` stays the
    caller's to close; one it made itself is closed by :meth:`close` or at the end of a
    ``with`` block. Every method raises :class:`StorefrontError` for an error answer and
    :class:`StorefrontUnavailable` when no answer came.
    """

    def __init__(self, base_url: str, *, timeout: float = DEFAULT_TIMEOUT,
                 client: httpx.Client | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._owns_client = client is None
        self._client = client or httpx.Client(timeout=timeout, trust_env=False)
        self._timeout = timeout
        self._headers = {**_DEFAULT_HEADERS, **(headers or {})}

    def __enter__(self) -> Storefront:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool, unless the caller handed it in."""
        if self._owns_client:
            self._client.close()

    # -- queries ------------------------------------------------------------------------------

    def list_products(self, page: int = 1, per_page: int = 20, q: str | None = None
                      ) -> ProductPage:
        """One page of products, oldest first; ``q`` keeps names containing it (any case)."""
        params: dict[str, str | int] = {"page": page, "per_page": per_page}
        if q:
            params["q"] = q
        return _decoded(self._send("GET", "/api/products", params=params),
                        ProductPage.from_json)

    def get_product(self, product_id: str) -> Product:
        """One product; ``StorefrontError`` with code ``product_not_found`` if none has the id."""
        return _decoded(self._send("GET", _product_path(product_id)), Product.from_json)

    def list_notifications(self, customer_id: str, page: int = 1, per_page: int = 20
                           ) -> NotificationPage:
        """One page of a customer's notifications, oldest first.

        An unknown customer is an empty page; an empty ``customer_id`` is sent as it is, and the
        API answers ``invalid_query``.
        """
        params: dict[str, str | int] = {"customer_id": customer_id, "page": page,
                                        "per_page": per_page}
        return _decoded(self._send("GET", "/api/notifications", params=params),
                        NotificationPage.from_json)

    # -- commands -----------------------------------------------------------------------------

    def create_product(self, *, sku: str, name: str, price_cents: int, currency: str,
                       description: str = "", active: bool = True) -> Product:
        """Add a product (``sku_taken`` if the SKU is in use, ``validation_error`` if a
        field breaks the schema)."""
        body = {"sku": sku, "name": name, "description": description,
                "price_cents": price_cents, "currency": currency, "active": active}
        return _decoded(self._send("POST", "/api/products", json=body), Product.from_json)

    def replace_product(self, product_id: str, *, sku: str, name: str, description: str,
                        price_cents: int, currency: str, active: bool) -> Product:
        """Replace every field of a product (``PUT``)."""
        body = {"sku": sku, "name": name, "description": description,
                "price_cents": price_cents, "currency": currency, "active": active}
        return _decoded(self._send("PUT", _product_path(product_id), json=body),
                        Product.from_json)

    def patch_product(self, product_id: str, **changes: Any) -> Product:
        """Change some fields of a product (``PATCH``); only :data:`MUTABLE_FIELDS` exist."""
        unknown = sorted(set(changes) - set(MUTABLE_FIELDS))
        if unknown:
            raise TypeError(f"products have no field {', '.join(unknown)}; "
                            f"known: {', '.join(MUTABLE_FIELDS)}")
        return _decoded(self._send("PATCH", _product_path(product_id), json=changes),
                        Product.from_json)

    def delete_product(self, product_id: str) -> None:
        """Remove a product."""
        self._send("DELETE", _product_path(product_id))

    # -- plumbing -----------------------------------------------------------------------------

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send one request; a success response, or the error it describes raised."""
        try:
            response = self._client.request(method, self.base_url + path,
                                            headers=self._headers, timeout=self._timeout,
                                            **kwargs)
        except httpx.TransportError as exc:
            raise StorefrontUnavailable(
                f"{method} {self.base_url}{path} got no answer: {type(exc).__name__}: {exc}"
            ) from exc
        if response.status_code >= 300:
            raise StorefrontError.from_response(response)
        return response


def _product_path(product_id: str) -> str:
    if not product_id:
        raise ValueError("a product id must not be empty")
    return "/api/products/" + quote(product_id, safe="")


def _decoded(response: httpx.Response, parse: Callable[[Any], T]) -> T:
    """A success body parsed by ``parse``; ``invalid_response`` if it is not the contract's."""
    try:
        return parse(response.json())
    except ValueError as exc:  # not JSON, or a ResponseShapeError
        raise StorefrontError(response.status_code, "invalid_response",
                              f"{response.request.method} {response.request.url.path}: {exc}",
                              response.headers.get("X-Request-ID")) from exc
