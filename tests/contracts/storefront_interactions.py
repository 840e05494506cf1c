"""The storefront's expectations of the product API, each with the client call that proves it.

Every :class:`Case` adds one interaction to a pact and knows how the real client exercises
it, so the pact file holds only what the client really sends and reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from pact import Pact, match

from storefront import Storefront, StorefrontError
from strangler_contracts.states import NO_PRODUCT, PRODUCT_EXISTS
from tests.contracts.matchers import error, product, uuid7

JSON = "application/json"
REQUEST_ID = match.regex("4bf92f3577b34da6a3ce929d0e0e4736", regex=r"^[A-Za-z0-9._:\-]{1,128}$")

MUG = {"id": "0193a1b2-0000-7000-8000-000000000001", "sku": "MUG-001", "name": "Blue Mug"}
TEAPOT = {"id": "0193a1b2-0000-7000-8000-000000000002", "sku": "TEA-001", "name": "Teapot"}
KETTLE = {"id": "0193a1b2-0000-7000-8000-000000000003", "sku": "KETTLE-001"}
SPOON = {"id": "0193a1b2-0000-7000-8000-000000000004", "sku": "SPOON-001", "price_cents": 250}
SAUCER = {"id": "0193a1b2-0000-7000-8000-000000000005", "sku": "SAUCER-001"}
MISSING_ID = "0193a1b2-0000-7000-8000-0000000000ff"
LAMP = {"sku": "LAMP-001", "name": "Desk Lamp", "description": "A lamp for a desk",
        "price_cents": 4500, "currency": "EUR", "active": True}


@dataclass(frozen=True)
class Case:
    """One interaction: how to declare it, and how the client exercises it."""

    description: str
    declare: Callable[[Pact, str], None]
    exercise: Callable[[Storefront], None]


def _list_page(pact: Pact, description: str) -> None:
    (pact.upon_receiving(description)
     .given(PRODUCT_EXISTS, **MUG).given(PRODUCT_EXISTS, **TEAPOT)
     .with_request("GET", "/api/products")
     .with_query_parameters({"page": "1", "per_page": "2"})
     .will_respond_with(200)
     .with_body({"items": [product(MUG["id"], MUG["sku"], name=MUG["name"]),
                           product(TEAPOT["id"], TEAPOT["sku"], name=TEAPOT["name"])],
                 "page": 1, "per_page": 2, "total": match.int(2)}, JSON))


def _exercise_list_page(shop: Storefront) -> None:
    page = shop.list_products(page=1, per_page=2)
    assert [p.sku for p in page.items] == ["MUG-001", "TEA-001"]  # oldest first
    assert (page.page, page.per_page, page.total, page.has_next) == (1, 2, 2, False)


def _search(pact: Pact, description: str) -> None:
    (pact.upon_receiving(description)
     .given(PRODUCT_EXISTS, **MUG).given(PRODUCT_EXISTS, **TEAPOT)
     .with_request("GET", "/api/products")
     .with_query_parameters({"page": "1", "per_page": "20", "q": "mug"})
     .will_respond_with(200)
     .with_body({"items": [product(MUG["id"], MUG["sku"], name=MUG["name"])],
                 "page": 1, "per_page": 20, "total": 1}, JSON))


def _exercise_search(shop: Storefront) -> None:
    page = shop.list_products(q="mug")
    assert [p.name for p in page.items] == ["Blue Mug"] and page.total == 1


def _get(pact: Pact, description: str) -> None:
    (pact.upon_receiving(description)
     .given(PRODUCT_EXISTS, **MUG)
     .with_request("GET", f"/api/products/{MUG['id']}")
     .will_respond_with(200)
     .with_body(product(MUG["id"], MUG["sku"], name=MUG["name"]), JSON))


def _exercise_get(shop: Storefront) -> None:
    mug = shop.get_product(MUG["id"])
    assert (mug.id, mug.sku, mug.name) == (MUG["id"], "MUG-001", "Blue Mug")
    assert mug.created_at.utcoffset() is not None


def _get_missing(pact: Pact, description: str) -> None:
    (pact.upon_receiving(description)
     .given(NO_PRODUCT, id=MISSING_ID)
     .with_request("GET", f"/api/products/{MISSING_ID}")
     .will_respond_with(404)
     .with_header("X-Request-ID", REQUEST_ID, "Response")
     .with_body(error("product_not_found", f"product {MISSING_ID} does not exist"), JSON))


def _exercise_get_missing(shop: Storefront) -> None:
    with pytest.raises(StorefrontError) as caught:
        shop.get_product(MISSING_ID)
    assert (caught.value.status, caught.value.code) == (404, "product_not_found")
    assert caught.value.request_id


def _create(pact: Pact, description: str) -> None:
    (pact.upon_receiving(description)
     .given(NO_PRODUCT, sku=LAMP["sku"])
     .with_request("POST", "/api/products")
     .with_body(LAMP, JSON)
     .will_respond_with(201)
     .with_header("Location", match.regex(f"/api/products/{MUG['id']}",
                                          regex=r"^/api/products/[0-9a-f-]{36}$"), "Response")
     .with_body(product(uuid7(MUG["id"]), LAMP["sku"],
                        **{k: v for k, v in LAMP.items() if k != "sku"}), JSON))


def _exercise_create(shop: Storefront) -> None:
    lamp = shop.create_product(sku="LAMP-001", name="Desk Lamp", description="A lamp for a desk",
                               price_cents=4500, currency="EUR")
    assert (lamp.sku, lamp.price_cents, lamp.active) == ("LAMP-001", 4500, True)
    assert lamp.id and lamp.created_at == lamp.updated_at


def _create_taken(pact: Pact, description: str) -> None:
    (pact.upon_receiving(description)
     .given(PRODUCT_EXISTS, **MUG)
     .with_request("POST", "/api/products")
     .with_body({**LAMP, "sku": MUG["sku"]}, JSON)
     .will_respond_with(409)
     .with_header("X-Request-ID", REQUEST_ID, "Response")
     .with_body(error("sku_taken", "SKU MUG-001 is already used by another product"), JSON))


def _exercise_create_taken(shop: Storefront) -> None:
    with pytest.raises(StorefrontError) as caught:
        shop.create_product(**{**LAMP, "sku": "MUG-001"})
    assert (caught.value.status, caught.value.code) == (409, "sku_taken")


def _create_invalid(pact: Pact, description: str) -> None:
    (pact.upon_receiving(description)
     .with_request("POST", "/api/products")
     .with_body({**LAMP, "sku": "BAD-CURRENCY", "currency": "euro"}, JSON)
     .will_respond_with(422)
     .with_header("X-Request-ID", REQUEST_ID, "Response")
     .with_body({"error": {
         "code": "validation_error",
         "message": match.str("invalid request body: currency: String should match pattern"),
         "details": match.each_like({"field": "currency",
                                     "message": match.str("String should match pattern")})}},
         JSON))


def _exercise_create_invalid(shop: Storefront) -> None:
    with pytest.raises(StorefrontError) as caught:
        shop.create_product(**{**LAMP, "sku": "BAD-CURRENCY", "currency": "euro"})
    assert (caught.value.status, caught.value.code) == (422, "validation_error")
    assert [d.field for d in caught.value.details] == ["currency"]


REPLACEMENT = {"sku": "KETTLE-002", "name": "Steel Kettle", "description": "1.7 litres",
               "price_cents": 3900, "currency": "EUR", "active": False}


def _replace(pact: Pact, description: str) -> None:
    (pact.upon_receiving(description)
     .given(PRODUCT_EXISTS, **KETTLE)
     .with_request("PUT", f"/api/products/{KETTLE['id']}")
     .with_body(REPLACEMENT, JSON)
     .will_respond_with(200)
     .with_body(product(KETTLE["id"], REPLACEMENT["sku"],
                        **{k: v for k, v in REPLACEMENT.items() if k != "sku"}), JSON))


def _exercise_replace(shop: Storefront) -> None:
    kettle = shop.replace_product(KETTLE["id"], **REPLACEMENT)
    assert (kettle.sku, kettle.active, kettle.price_cents) == ("KETTLE-002", False, 3900)


def _patch(pact: Pact, description: str) -> None:
    (pact.upon_receiving(description)
     .given(PRODUCT_EXISTS, **SPOON)
     .with_request("PATCH", f"/api/products/{SPOON['id']}")
     .with_body({"price_cents": 300}, JSON)
     .will_respond_with(200)
     .with_body(product(SPOON["id"], SPOON["sku"], price_cents=300), JSON))


def _exercise_patch(shop: Storefront) -> None:
    spoon = shop.patch_product(SPOON["id"], price_cents=300)
    assert (spoon.sku, spoon.price_cents) == ("SPOON-001", 300)


def _delete(pact: Pact, description: str) -> None:
    (pact.upon_receiving(description)
     .given(PRODUCT_EXISTS, **SAUCER)
     .with_request("DELETE", f"/api/products/{SAUCER['id']}")
     .will_respond_with(204))


def _exercise_delete(shop: Storefront) -> None:
    assert shop.delete_product(SAUCER["id"]) is None


CASES = (
    Case("a request for a page of products", _list_page, _exercise_list_page),
    Case("a search for products by name", _search, _exercise_search),
    Case("a request for one product", _get, _exercise_get),
    Case("a request for a product that does not exist", _get_missing, _exercise_get_missing),
    Case("a request to create a product", _create, _exercise_create),
    Case("a request to create a product with a SKU in use", _create_taken,
         _exercise_create_taken),
    Case("a request to create a product with an invalid currency", _create_invalid,
         _exercise_create_invalid),
    Case("a request to replace a product", _replace, _exercise_replace),
    Case("a request to change a product's price", _patch, _exercise_patch),
    Case("a request to delete a product", _delete, _exercise_delete),
)
