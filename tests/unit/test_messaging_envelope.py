"""The messaging library's pure parts: the CloudEvent envelope, uuid7 and W3C trace context."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strangler_messaging import (
    CloudEvent,
    EnvelopeError,
    TraceContext,
    current_trace,
    use_trace,
    uuid7,
)

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_ID = "00f067aa0ba902b7"
PARENT = f"00-{TRACE_ID}-{SPAN_ID}-01"


def event(**overrides: Any) -> CloudEvent:
    fields: dict[str, Any] = {
        "id": str(uuid7()), "source": "/shop/monolith", "type": "catalog.product.created.v1",
        "subject": "p-1", "time": datetime(2024, 7, 1, 10, 0, 0, 123000, tzinfo=UTC),
        "aggregatetype": "product", "aggregatesequence": 3, "origin": "monolith",
        "data": {"id": "p-1", "price_cents": 120, "tags": ["a", "b"], "active": True},
    }
    return CloudEvent(**{**fields, **overrides})


def document(**overrides: Any) -> dict[str, Any]:
    return {**event().to_dict(), **overrides}


def parse(doc: Any) -> CloudEvent:
    return CloudEvent.from_json(json.dumps(doc))


# -- envelope -----------------------------------------------------------------------------------

def test_to_json_is_a_structured_cloudevent() -> None:
    doc = json.loads(event(traceparent=PARENT, tracestate="shop=1").to_json())
    assert doc["specversion"] == "1.0" and doc["datacontenttype"] == "application/json"
    assert doc["time"] == "2024-07-01T10:00:00.123+00:00"
    assert doc["aggregatesequence"] == 3
    assert (doc["traceparent"], doc["tracestate"]) == (PARENT, "shop=1")
    assert list(doc)[-1] == "data"


def test_unset_optional_attributes_are_left_out() -> None:
    doc = json.loads(event().to_json())
    assert "traceparent" not in doc and "tracestate" not in doc


@pytest.mark.parametrize("extra", [{}, {"traceparent": PARENT, "tracestate": "a=1,b=2"}])
def test_round_trip(extra: dict[str, str]) -> None:
    original = event(**extra)
    assert CloudEvent.from_json(original.to_json()) == original
    assert CloudEvent.from_json(original.to_json().decode()) == original


def test_a_non_utc_offset_keeps_the_instant() -> None:
    original = event(time=datetime(2024, 7, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))))
    parsed = CloudEvent.from_json(original.to_json())
    assert parsed.time == datetime(2024, 7, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("body", [b"", b"not json", b"{", b"\xff\xfe\x00", "{'a': 1}"])
def test_from_json_rejects_non_json(body: bytes | str) -> None:
    with pytest.raises(EnvelopeError, match="not JSON"):
        CloudEvent.from_json(body)


@pytest.mark.parametrize("body", ["[]", "[{}]", '"event"', "42", "null", "true"])
def test_from_json_rejects_non_objects(body: str) -> None:
    with pytest.raises(EnvelopeError, match="JSON object"):
        CloudEvent.from_json(body)


@pytest.mark.parametrize("name", ["specversion", "id", "source", "type", "subject", "time",
                                  "aggregatetype", "aggregatesequence", "origin", "data"])
def test_from_json_rejects_a_missing_attribute(name: str) -> None:
    doc = document()
    del doc[name]
    with pytest.raises(EnvelopeError, match=f"missing CloudEvents attributes: {name}$"):
        parse(doc)


@pytest.mark.parametrize("version", ["0.3", "1", "2.0", 1.0, None])
def test_from_json_rejects_another_specversion(version: Any) -> None:
    with pytest.raises(EnvelopeError, match="specversion"):
        parse(document(specversion=version))


@pytest.mark.parametrize("sequence", [0, -1, True, False, "1", 1.0, None])
def test_from_json_rejects_a_sequence_that_is_not_a_positive_integer(sequence: Any) -> None:
    with pytest.raises(EnvelopeError, match="aggregatesequence"):
        parse(document(aggregatesequence=sequence))


@pytest.mark.parametrize("value", ["2024-07-01T10:00:00", "2024-07-01", "yesterday", 1719828000,
                                   None, ""])
def test_from_json_rejects_a_time_without_an_offset_or_not_a_time(value: Any) -> None:
    with pytest.raises(EnvelopeError, match="time"):
        parse(document(time=value))


def test_a_zulu_time_is_accepted() -> None:
    assert parse(document(time="2024-07-01T10:00:00Z")).time == datetime(2024, 7, 1, 10,
                                                                          tzinfo=UTC)


@pytest.mark.parametrize("data", [[], [1, 2], "text", 1, None, True])
def test_from_json_rejects_data_that_is_not_an_object(data: Any) -> None:
    with pytest.raises(EnvelopeError, match="data"):
        parse(document(data=data))


@pytest.mark.parametrize("name", ["id", "source", "type", "subject", "aggregatetype", "origin"])
@pytest.mark.parametrize("value", ["", 7, None, ["x"]])
def test_from_json_rejects_empty_or_non_string_attributes(name: str, value: Any) -> None:
    with pytest.raises(EnvelopeError, match=name):
        parse(document(**{name: value}))


def test_from_json_rejects_deeply_nested_json_as_an_envelope_error() -> None:
    with pytest.raises(EnvelopeError):
        CloudEvent.from_json(b'{"data": ' + b"[" * 100_000)


def test_from_json_rejects_non_standard_number_literals() -> None:
    body = json.dumps(document()).replace('"price_cents": 120', '"price_cents": NaN')
    assert "NaN" in body
    with pytest.raises(EnvelopeError):
        CloudEvent.from_json(body)


def test_from_json_rejects_optional_attributes_that_are_not_strings() -> None:
    for name in ("traceparent", "tracestate", "datacontenttype"):
        with pytest.raises(EnvelopeError):
            parse(document(**{name: 42}))


_json_leaves = (st.none() | st.booleans() | st.integers()
                | st.floats(allow_nan=False, allow_infinity=False) | st.text())
_json = st.recursive(_json_leaves, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(), inner, max_size=4), max_leaves=20)


@settings(max_examples=60)
@given(data=st.dictionaries(st.text(), _json, max_size=6),
       moment=st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2999, 1, 1),
                           timezones=st.just(UTC)),
       sequence=st.integers(min_value=1, max_value=2**63 - 1))
def test_any_json_object_round_trips(data: dict[str, Any], moment: datetime,
                                     sequence: int) -> None:
    moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    original = event(data=data, time=moment, aggregatesequence=sequence)
    parsed = CloudEvent.from_json(original.to_json())
    assert parsed == original
    assert json.loads(parsed.to_json()) == json.loads(original.to_json())


# -- uuid7 --------------------------------------------------------------------------------------

def test_uuid7_has_version_7_and_the_rfc_variant() -> None:
    value = uuid7()
    assert value.version == 7 and value.variant == uuid.RFC_4122


def test_uuid7_starts_with_the_unix_milliseconds() -> None:
    before = time.time_ns() // 1_000_000
    value = uuid7()
    after = time.time_ns() // 1_000_000
    assert before <= value.int >> 80 <= after


def test_a_later_uuid7_sorts_higher() -> None:
    earlier = uuid7()
    time.sleep(0.002)
    later = uuid7()
    assert earlier < later and str(earlier) < str(later)


def test_uuid7_is_unique() -> None:
    assert len({uuid7() for _ in range(10_000)}) == 10_000


# -- trace context ------------------------------------------------------------------------------

def test_parse_accepts_a_valid_traceparent() -> None:
    trace = TraceContext.parse(PARENT, " vendor=1 ")
    assert trace == TraceContext(TRACE_ID, SPAN_ID, "01", "vendor=1")
    assert trace.traceparent == PARENT


def test_parse_lower_cases_an_upper_case_header() -> None:
    trace = TraceContext.parse(f"  {PARENT.upper()}  ")
    assert trace is not None and trace.traceparent == PARENT


@pytest.mark.parametrize("header", [
    None, "", "garbage",
    f"00-{'0' * 32}-{SPAN_ID}-01",
    f"00-{TRACE_ID}-{'0' * 16}-01",
    f"ff-{TRACE_ID}-{SPAN_ID}-01",
    f"00-{TRACE_ID[:-1]}-{SPAN_ID}-01",
    f"00-{TRACE_ID}a-{SPAN_ID}-01",
    f"00-{TRACE_ID}-{SPAN_ID}0-01",
    f"00-{TRACE_ID}-{SPAN_ID}-1",
    f"0-{TRACE_ID}-{SPAN_ID}-01",
    f"00_{TRACE_ID}_{SPAN_ID}_01",
    f"00-{TRACE_ID[:-1]}g-{SPAN_ID}-01",
])
def test_parse_rejects_invalid_headers(header: str | None) -> None:
    assert TraceContext.parse(header) is None


def test_an_oversized_tracestate_is_dropped() -> None:
    trace = TraceContext.parse(PARENT, "a=" + "x" * 600)
    assert trace is not None and trace.tracestate is None


def test_continue_from_keeps_the_trace_and_starts_a_new_span() -> None:
    child = TraceContext.continue_from(PARENT, "shop=1")
    assert child.trace_id == TRACE_ID and child.span_id != SPAN_ID
    assert len(child.span_id) == 16 and child.flags == "01" and child.tracestate == "shop=1"
    assert TraceContext.continue_from(PARENT).span_id != child.span_id


@pytest.mark.parametrize("header", [None, "garbage", f"00-{'0' * 32}-{SPAN_ID}-01"])
def test_continue_from_nothing_valid_starts_a_new_trace(header: str | None) -> None:
    first, second = TraceContext.continue_from(header), TraceContext.continue_from(header)
    assert first.trace_id != second.trace_id
    assert TraceContext.parse(first.traceparent) == first


def test_use_trace_installs_and_restores_the_previous_context() -> None:
    outer, inner = TraceContext.new_root(), TraceContext.new_root()
    assert current_trace() is None
    with use_trace(outer):
        assert current_trace() == outer
        with use_trace(inner) as installed:
            assert installed == inner and current_trace() == inner
        assert current_trace() == outer
        with pytest.raises(RuntimeError), use_trace(None):
            assert current_trace() is None
            raise RuntimeError("boom")
        assert current_trace() == outer
    assert current_trace() is None
