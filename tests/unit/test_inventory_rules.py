"""Stock rules without a database: counting, reserving and releasing units of one SKU."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from legacy_monolith.inventory.models import StockItem
from legacy_monolith.platform.errors import Conflict, RuleViolation


def counted(quantity: int) -> StockItem:
    item = StockItem.new("APL-1")
    item.set_to(quantity)
    return item


def test_a_new_record_is_empty_at_version_0() -> None:
    item = StockItem.new("APL-1")
    assert (item.sku, item.quantity, item.version) == ("APL-1", 0, 0)
    assert item.snapshot() == {"sku": "APL-1", "quantity": 0,
                               "updated_at": item.updated_at.isoformat(timespec="milliseconds")}


def test_set_to_returns_the_delta_and_bumps_the_version() -> None:
    item = StockItem.new("APL-1")
    assert item.set_to(10) == 10
    assert item.set_to(4) == -6
    assert (item.quantity, item.version) == (4, 2)


def test_set_to_the_same_quantity_is_a_zero_delta_change() -> None:
    # The facade skips this case so that a recount publishes nothing; the rule itself counts it.
    item = counted(5)
    assert item.set_to(5) == 0
    assert (item.quantity, item.version) == (5, 2)


def test_set_to_a_negative_quantity_is_refused_and_nothing_changes() -> None:
    item = counted(5)
    with pytest.raises(RuleViolation) as caught:
        item.set_to(-1)
    assert caught.value.code == "invalid_quantity"
    assert (item.quantity, item.version) == (5, 1)


def test_reserve_takes_units_down_to_zero() -> None:
    item = counted(5)
    assert item.reserve(2) == -2
    assert item.reserve(3) == -3
    assert (item.quantity, item.version) == (0, 3)


def test_reserving_more_than_on_hand_is_a_conflict_and_nothing_changes() -> None:
    item = counted(2)
    with pytest.raises(Conflict) as caught:
        item.reserve(3)
    assert caught.value.code == "insufficient_stock"
    assert "only 2 of APL-1" in caught.value.message
    assert (item.quantity, item.version) == (2, 1)


def test_release_puts_units_back() -> None:
    item = counted(5)
    item.reserve(4)
    assert item.release(4) == 4
    assert (item.quantity, item.version) == (5, 3)


@given(st.lists(st.tuples(st.sampled_from(["set", "reserve", "release"]),
                          st.integers(min_value=0, max_value=50)), max_size=30))
def test_quantity_is_the_sum_of_deltas_and_never_negative(
        operations: list[tuple[str, int]]) -> None:
    item = StockItem.new("APL-1")
    total, changes = 0, 0
    for operation, units in operations:
        try:
            if operation == "set":
                total += item.set_to(units)
            elif operation == "reserve":
                total += item.reserve(units)
            else:
                total += item.release(units)
        except (Conflict, RuleViolation):
            continue
        changes += 1
    assert item.quantity == total >= 0
    assert item.version == changes


def test_reserving_or_releasing_nothing_is_refused() -> None:
    item = counted(5)
    for change in (item.reserve, item.release):
        for units in (0, -1):
            with pytest.raises(RuleViolation) as raised:
                change(units)
            assert raised.value.code == "invalid_quantity"
    assert (item.quantity, item.version) == (5, 1)
