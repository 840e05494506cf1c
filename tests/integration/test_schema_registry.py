"""The consumers' schema registry over contracts/events: references inlined once, same verdicts."""

from __future__ import annotations

import uuid

import pytest

from strangler_messaging import CloudEvent
from strangler_messaging.schemas import SchemaRegistry, SchemaViolation
from strangler_messaging.sqltypes import utc_now
from tests.conftest import REPO

PRODUCT = {"id": str(uuid.uuid4()), "sku": "A-1", "name": "Apple", "description": "",
           "price_cents": 120, "currency": "EUR", "active": True,
           "created_at": "2026-11-28T01:02:03.456+00:00",
           "updated_at": "2026-11-28T01:02:03.456+00:00"}


@pytest.fixture(scope="module")
def registry() -> SchemaRegistry:
    return SchemaRegistry.from_directory(REPO / "contracts" / "events")


def event(data: dict[str, object], type_: str = "catalog.product.updated.v1") -> CloudEvent:
    return CloudEvent(id=str(uuid.uuid4()), source="/t", type=type_, subject=str(data.get("id")),
                      time=utc_now(), aggregatetype="product", aggregatesequence=1,
                      origin="t", data=data)


def test_a_valid_product_event_passes(registry: SchemaRegistry) -> None:
    for type_ in ("catalog.product.created.v1", "catalog.product.updated.v1",
                  "catalog.product.snapshot.v1"):
        registry.validate(event(PRODUCT, type_))


@pytest.mark.parametrize(("change", "message"), [
    ({"price_cents": "120"}, "price_cents"),
    ({"id": "not-a-uuid"}, "id"),
    ({"created_at": "2026-11-28T01:02:03+00:00"}, "created_at"),
    ({"extra": 1}, "Additional properties"),
    ({"sku": None}, "sku"),
])
def test_referenced_definitions_still_apply(registry: SchemaRegistry, change: dict[str, object],
                                            message: str) -> None:
    with pytest.raises(SchemaViolation, match=message):
        registry.validate(event({**PRODUCT, **change}))


def test_a_tombstone_may_have_a_null_sku_but_an_update_may_not(registry: SchemaRegistry) -> None:
    deleted = {"id": PRODUCT["id"], "sku": None, "deleted_at": PRODUCT["updated_at"]}
    registry.validate(event(deleted, "catalog.product.deleted.v1"))
    with pytest.raises(SchemaViolation):
        registry.validate(event({**PRODUCT, "sku": None}))


def test_an_unknown_type_is_a_violation(registry: SchemaRegistry) -> None:
    assert not registry.knows("catalog.product.renamed.v1")
    with pytest.raises(SchemaViolation, match="no schema"):
        registry.validate(event(PRODUCT, "catalog.product.renamed.v1"))


ORDER = {"id": str(uuid.uuid4()), "customer_id": str(uuid.uuid4()), "status": "placed",
         "lines": [{"product_id": str(uuid.uuid4()), "sku": "A-1", "name": "Apple",
                    "quantity": 2, "unit_price_cents": 120, "line_total_cents": 240}],
         "total_cents": 240, "currency": "EUR", "created_at": PRODUCT["created_at"],
         "updated_at": PRODUCT["updated_at"]}


def test_keywords_beside_a_reference_apply_as_well_as_the_reference(
        registry: SchemaRegistry) -> None:
    # orders.order.placed.v1 is {"$ref": Order, "properties": {"status": {"const": "placed"}}}:
    # both must hold, the sibling must not replace Order's properties.
    registry.validate(event(ORDER, "orders.order.placed.v1"))
    registry.validate(event({**ORDER, "status": "cancelled"}, "orders.order.cancelled.v1"))
    with pytest.raises(SchemaViolation, match="placed"):
        registry.validate(event({**ORDER, "status": "cancelled"}, "orders.order.placed.v1"))
    with pytest.raises(SchemaViolation, match="Additional properties"):
        registry.validate(event({**ORDER, "extra": 1}, "orders.order.placed.v1"))
