"""The storefront's expectations of the notification listing, each with the client call that
proves it (see :mod:`tests.contracts.storefront_interactions` for how a :class:`Case` works)."""

from __future__ import annotations

from typing import Any

import pytest
from pact import Pact, match

from storefront import Storefront, StorefrontError
from strangler_contracts.states import NO_NOTIFICATION, NOTIFICATION_EXISTS
from tests.contracts.matchers import error, notification
from tests.contracts.storefront_interactions import JSON, REQUEST_ID, Case

ANN = "0193a1b2-0000-7000-8000-0000000000a1"
BOB = "0193a1b2-0000-7000-8000-0000000000b1"
UNKNOWN = "0193a1b2-0000-7000-8000-0000000000ff"
WELCOME: dict[str, Any] = {
    "id": "0193a1b2-3333-7000-8000-000000000001", "customer_id": ANN, "kind": "welcome",
    "recipient": "ann@example.com"}
ORDER_PLACED: dict[str, Any] = {
    "id": "0193a1b2-3333-7000-8000-000000000002", "customer_id": ANN, "kind": "order_placed",
    "recipient": None}
"""Recorded before the Shop knew Ann's address: the recipient is null."""
BOBS_WELCOME: dict[str, Any] = {
    "id": "0193a1b2-3333-7000-8000-000000000003", "customer_id": BOB, "kind": "welcome",
    "recipient": "bob@example.com"}


def _first_page(customer_id: str) -> dict[str, str]:
    return {"customer_id": customer_id, "page": "1", "per_page": "20"}


def _list(pact: Pact, description: str) -> None:
    (pact.upon_receiving(description)
     .given(NOTIFICATION_EXISTS, **WELCOME).given(NOTIFICATION_EXISTS, **ORDER_PLACED)
     .given(NOTIFICATION_EXISTS, **BOBS_WELCOME)
     .with_request("GET", "/api/notifications")
     .with_query_parameters(_first_page(ANN))
     .will_respond_with(200)
     .with_body({"items": [notification(**WELCOME), notification(**ORDER_PLACED)],
                 "page": 1, "per_page": 20, "total": match.int(2)}, JSON))


def _exercise_list(shop: Storefront) -> None:
    page = shop.list_notifications(ANN)
    assert [(n.id, n.kind) for n in page.items] == [(WELCOME["id"], "welcome"),
                                                   (ORDER_PLACED["id"], "order_placed")]
    assert [n.recipient for n in page.items] == ["ann@example.com", None]
    assert {n.customer_id for n in page.items} == {ANN}
    assert (page.total, page.has_next) == (2, False)
    assert all(n.subject and n.body and n.created_at.utcoffset() is not None
               for n in page.items)


def _list_unknown(pact: Pact, description: str) -> None:
    (pact.upon_receiving(description)
     .given(NO_NOTIFICATION, customer_id=UNKNOWN)
     .with_request("GET", "/api/notifications")
     .with_query_parameters(_first_page(UNKNOWN))
     .will_respond_with(200)
     .with_body({"items": [], "page": 1, "per_page": 20, "total": 0}, JSON))


def _exercise_list_unknown(shop: Storefront) -> None:
    page = shop.list_notifications(UNKNOWN)
    assert (page.items, page.total, page.has_next) == ((), 0, False)


def _list_without_customer(pact: Pact, description: str) -> None:
    (pact.upon_receiving(description)
     .with_request("GET", "/api/notifications")
     .with_query_parameters(_first_page(""))
     .will_respond_with(400)
     .with_header("X-Request-ID", REQUEST_ID, "Response")
     .with_body(error("invalid_query", "customer_id is required"), JSON))


def _exercise_list_without_customer(shop: Storefront) -> None:
    with pytest.raises(StorefrontError) as caught:
        shop.list_notifications("")
    assert (caught.value.status, caught.value.code) == (400, "invalid_query")
    assert caught.value.request_id


CASES = (
    Case("a request for a customer's notifications", _list, _exercise_list),
    Case("a request for the notifications of a customer without any", _list_unknown,
         _exercise_list_unknown),
    Case("a request for notifications without a customer id", _list_without_customer,
         _exercise_list_without_customer),
)
