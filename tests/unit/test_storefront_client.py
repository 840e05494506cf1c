"""The storefront client's requests and error mapping, against httpx's in-memory transport."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from storefront import Storefront, StorefrontError, StorefrontUnavailable
from tests.unit.test_storefront_models import NOTIFICATION, PRODUCT

Handler = Callable[[httpx.Request], httpx.Response]


def _storefront(handler: Handler, seen: list[httpx.Request]) -> Storefront:
    def recording(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    client = httpx.Client(transport=httpx.MockTransport(recording))
    return Storefront("http://shop.test/", client=client, headers={"X-Request-ID": "demo-1"})


def test_list_sends_the_page_and_the_filter() -> None:
    seen: list[httpx.Request] = []
    payload = {"items": [PRODUCT], "page": 2, "per_page": 5, "total": 6}
    shop = _storefront(lambda _: httpx.Response(200, json=payload), seen)
    page = shop.list_products(page=2, per_page=5, q="mug")
    assert [p.sku for p in page.items] == ["MUG-001"] and page.total == 6
    assert str(seen[0].url) == "http://shop.test/api/products?page=2&per_page=5&q=mug"
    assert seen[0].headers["X-Request-ID"] == "demo-1"
    assert seen[0].headers["Accept"] == "application/json"


def test_notifications_are_listed_by_customer_with_the_page() -> None:
    seen: list[httpx.Request] = []
    payload = {"items": [NOTIFICATION], "page": 3, "per_page": 1, "total": 3}
    shop = _storefront(lambda _: httpx.Response(200, json=payload), seen)
    page = shop.list_notifications("c 1&x", page=3, per_page=1)
    assert [n.kind for n in page.items] == ["welcome"] and not page.has_next
    assert seen[0].method == "GET" and seen[0].url.path == "/api/notifications"
    assert seen[0].url.query == b"customer_id=c+1%26x&page=3&per_page=1"
    shop.list_notifications("c-2")
    assert dict(seen[1].url.params) == {"customer_id": "c-2", "page": "1", "per_page": "20"}


def test_an_empty_customer_id_is_left_to_the_api_to_refuse() -> None:
    seen: list[httpx.Request] = []
    body = {"error": {"code": "invalid_query", "message": "customer_id is required"}}
    shop = _storefront(lambda _: httpx.Response(400, json=body), seen)
    with pytest.raises(StorefrontError) as caught:
        shop.list_notifications("")
    assert (caught.value.status, caught.value.code) == (400, "invalid_query")
    assert seen[0].url.params["customer_id"] == ""


def test_ids_are_quoted_into_one_path_segment() -> None:
    seen: list[httpx.Request] = []
    shop = _storefront(lambda _: httpx.Response(200, json=PRODUCT), seen)
    shop.get_product("a/b?c")
    assert seen[0].url.raw_path == b"/api/products/a%2Fb%3Fc"


def test_create_sends_every_field_as_json() -> None:
    seen: list[httpx.Request] = []
    shop = _storefront(lambda _: httpx.Response(201, json=PRODUCT), seen)
    product = shop.create_product(sku="MUG-001", name="Blue Mug", price_cents=1250,
                                  currency="EUR")
    assert product.id == PRODUCT["id"]
    assert seen[0].method == "POST" and seen[0].headers["Content-Type"] == "application/json"
    assert json.loads(seen[0].content) == {"sku": "MUG-001", "name": "Blue Mug",
                                           "description": "", "price_cents": 1250,
                                           "currency": "EUR", "active": True}


def test_patch_sends_only_the_changes_and_refuses_unknown_fields() -> None:
    seen: list[httpx.Request] = []
    shop = _storefront(lambda _: httpx.Response(200, json=PRODUCT), seen)
    shop.patch_product("p-1", price_cents=999)
    assert (seen[0].method, json.loads(seen[0].content)) == ("PATCH", {"price_cents": 999})
    with pytest.raises(TypeError, match="products have no field colour"):
        shop.patch_product("p-1", colour="red")
    assert len(seen) == 1


def test_delete_expects_no_body() -> None:
    seen: list[httpx.Request] = []
    shop = _storefront(lambda _: httpx.Response(204), seen)
    assert shop.delete_product("p-1") is None
    assert (seen[0].method, seen[0].url.path) == ("DELETE", "/api/products/p-1")


def test_an_error_answer_raises_the_apis_code() -> None:
    body = {"error": {"code": "product_not_found", "message": "product p-9 does not exist"}}
    shop = _storefront(lambda _: httpx.Response(404, json=body,
                                                headers={"X-Request-ID": "r-9"}), [])
    with pytest.raises(StorefrontError) as caught:
        shop.get_product("p-9")
    assert (caught.value.status, caught.value.code, caught.value.request_id) == (
        404, "product_not_found", "r-9")


def test_a_success_body_that_breaks_the_contract_is_an_invalid_response() -> None:
    shop = _storefront(lambda _: httpx.Response(200, json={**PRODUCT, "price_cents": "12"}), [])
    with pytest.raises(StorefrontError) as caught:
        shop.get_product("p-1")
    assert (caught.value.status, caught.value.code) == (200, "invalid_response")
    assert "price_cents must be a int" in caught.value.message


def test_no_answer_raises_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(StorefrontUnavailable) as caught:
        _storefront(refuse, []).list_products()
    assert (caught.value.status, caught.value.code) == (0, "unavailable")
    assert "ConnectError" in caught.value.message


def test_a_client_handed_in_stays_open_and_an_own_one_is_closed() -> None:
    client = httpx.Client(transport=httpx.MockTransport(lambda _: httpx.Response(204)))
    with Storefront("http://shop.test", client=client):
        pass
    assert not client.is_closed
    with Storefront("http://shop.test") as own:
        pass
    assert own._client.is_closed
