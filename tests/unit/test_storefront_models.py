"""The storefront client's parsing: products, notifications, pages and error bodies, strictly."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

import storefront
from storefront import (
    FieldError,
    Notification,
    NotificationPage,
    Product,
    ProductPage,
    StorefrontError,
)
from storefront._models import ResponseShapeError

PRODUCT = {"id": "0190a6f2-3c4d-7e8f-9a0b-1c2d3e4f5a6b", "sku": "MUG-001", "name": "Blue Mug",
           "description": "A mug", "price_cents": 1250, "currency": "EUR", "active": True,
           "created_at": "2026-01-02T03:04:05.678+00:00",
           "updated_at": "2026-01-02T03:04:06.000+00:00"}
NOTIFICATION = {"id": "0190a6f2-3c4d-7e8f-9a0b-00000000000a",
                "customer_id": "0190a6f2-3c4d-7e8f-9a0b-0000000000c1", "kind": "welcome",
                "recipient": "ann@example.com", "subject": "Welcome to the Shop",
                "body": "Hello Ann, your account is ready.",
                "created_at": "2026-01-02T03:04:05.678+00:00"}


def test_the_public_surface_is_pinned() -> None:
    assert sorted(storefront.__all__) == [
        "DEFAULT_TIMEOUT", "FieldError", "MUTABLE_FIELDS", "Notification", "NotificationPage",
        "Product", "ProductPage", "Storefront", "StorefrontError", "StorefrontUnavailable"]


def test_a_product_parses_with_aware_timestamps() -> None:
    product = Product.from_json(PRODUCT)
    assert product.sku == "MUG-001" and product.price_cents == 1250 and product.active is True
    assert product.created_at == datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


@pytest.mark.parametrize(("field", "value", "problem"), [
    ("price_cents", "1250", "price_cents must be a int, got str"),
    ("price_cents", True, "price_cents must be a int, got bool"),
    ("active", 1, "active must be a bool, got int"),
    ("name", None, "name must be a str, got null"),
    ("created_at", "yesterday", "created_at is not an RFC 3339 timestamp"),
    ("updated_at", "2026-01-02T03:04:05.678", "updated_at has no UTC offset"),
])
def test_a_product_that_breaks_the_contract_is_refused(field: str, value: Any,
                                                       problem: str) -> None:
    with pytest.raises(ResponseShapeError, match=problem):
        Product.from_json({**PRODUCT, field: value})


def test_a_missing_field_is_refused() -> None:
    doc = dict(PRODUCT)
    del doc["currency"]
    with pytest.raises(ResponseShapeError, match="currency must be a str, got null"):
        Product.from_json(doc)


def test_a_page_parses_and_knows_whether_more_follow() -> None:
    page = ProductPage.from_json({"items": [PRODUCT], "page": 1, "per_page": 1, "total": 2})
    assert page.items == (Product.from_json(PRODUCT),) and page.has_next
    last = ProductPage.from_json({"items": [PRODUCT], "page": 2, "per_page": 1, "total": 2})
    assert not last.has_next


def test_a_page_without_items_is_refused() -> None:
    with pytest.raises(ResponseShapeError, match="items must be a JSON array, got dict"):
        ProductPage.from_json({"items": {}, "page": 1, "per_page": 20, "total": 0})


def test_a_notification_parses_with_its_recipient_or_null() -> None:
    welcome = Notification.from_json(NOTIFICATION)
    assert (welcome.kind, welcome.recipient, welcome.subject) == (
        "welcome", "ann@example.com", "Welcome to the Shop")
    assert welcome.created_at == datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert Notification.from_json({**NOTIFICATION, "recipient": None}).recipient is None


@pytest.mark.parametrize(("field", "value", "problem"), [
    ("recipient", 42, "recipient must be a str, got int"),
    ("kind", None, "kind must be a str, got null"),
    ("customer_id", 7, "customer_id must be a str, got int"),
    ("created_at", "2026-01-02T03:04:05", "created_at has no UTC offset"),
])
def test_a_notification_that_breaks_the_contract_is_refused(field: str, value: Any,
                                                            problem: str) -> None:
    with pytest.raises(ResponseShapeError, match=problem):
        Notification.from_json({**NOTIFICATION, field: value})


def test_a_notification_without_its_recipient_is_refused_not_taken_as_null() -> None:
    doc = {k: v for k, v in NOTIFICATION.items() if k != "recipient"}
    with pytest.raises(ResponseShapeError, match="recipient is missing"):
        Notification.from_json(doc)


def test_a_notification_page_parses_and_knows_whether_more_follow() -> None:
    page = NotificationPage.from_json({"items": [NOTIFICATION, {**NOTIFICATION, "id": "n-2"}],
                                       "page": 1, "per_page": 2, "total": 3})
    assert [n.id for n in page.items] == [NOTIFICATION["id"], "n-2"] and page.has_next
    empty = NotificationPage.from_json({"items": [], "page": 1, "per_page": 20, "total": 0})
    assert empty.items == () and not empty.has_next
    with pytest.raises(ResponseShapeError, match="a notification must be a JSON object"):
        NotificationPage.from_json({"items": ["x"], "page": 1, "per_page": 20, "total": 1})
    with pytest.raises(ResponseShapeError, match="total must be a int, got null"):
        NotificationPage.from_json({"items": [], "page": 1, "per_page": 20})


def _response(status: int, body: bytes, **headers: str) -> httpx.Response:
    return httpx.Response(status, content=body, headers=headers)


def test_an_error_body_becomes_code_message_request_id_and_details() -> None:
    body = (b'{"error":{"code":"validation_error","message":"invalid request body",'
            b'"details":[{"field":"price_cents","message":"too small"}]}}')
    error = StorefrontError.from_response(_response(422, body, **{"X-Request-ID": "r-1"}))
    assert (error.status, error.code, error.message, error.request_id) == (
        422, "validation_error", "invalid request body", "r-1")
    assert error.details == (FieldError("price_cents", "too small"),)
    assert str(error) == "HTTP 422 validation_error: invalid request body (request r-1)"


@pytest.mark.parametrize("body", [b"<html>Bad Gateway</html>", b'{"detail": "nope"}',
                                  b'{"error": "flat"}', b""])
def test_an_error_that_is_not_the_api_shape_keeps_the_status(body: bytes) -> None:
    error = StorefrontError.from_response(_response(502, body))
    assert (error.status, error.code, error.request_id) == (502, "http_502", None)
    assert error.message  # the text, or the reason phrase when there is none
