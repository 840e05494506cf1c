"""Shadow diffing and the circuit breaker: pure logic, no sockets."""

from __future__ import annotations

import json

from strangler_proxy.breaker import CLOSED, HALF_OPEN, OPEN, BreakerSettings, CircuitBreaker
from strangler_proxy.messages import Response
from strangler_proxy.shadow import differences


def reply(body: object, status: int = 200, content_type: bytes = b"application/json"
          ) -> Response:
    return Response(status, b"OK", [(b"Content-Type", content_type)],
                    json.dumps(body).encode())


def diff(a: Response, b: Response, **kw: object) -> list[str]:
    return differences(a, b, compare_headers=("content-type",), **kw)  # type: ignore[arg-type]


def test_equal_json_in_another_key_order_matches() -> None:
    assert diff(reply({"a": 1, "b": [1, 2]}), reply({"b": [1, 2], "a": 1})) == []


def test_status_headers_fields_and_lengths_are_reported() -> None:
    found = diff(reply({"a": 1, "b": [1, 2], "c": 1}, 200),
                 reply({"a": 2, "b": [1], "d": 1}, 201, b"text/json"))
    assert found == ["status: 200 != 201", "header content-type: application/json != text/json",
                     "a: 1 != 2", "b: 2 items != 1 items", "c: only in legacy",
                     "d: only in service"]


def test_a_number_is_not_its_string() -> None:
    assert diff(reply({"a": 1}), reply({"a": "1"})) == ['a: 1 != "1"']


def test_ignore_paths_with_wildcards() -> None:
    legacy = reply({"items": [{"id": 1, "updated_at": "x"}, {"id": 2, "updated_at": "y"}]})
    service = reply({"items": [{"id": 1, "updated_at": "z"}, {"id": 2, "updated_at": "w"}]})
    assert len(diff(legacy, service)) == 2
    assert diff(legacy, service, ignore=("items.*.updated_at",)) == []


def test_noise_cancellation_drops_what_legacy_itself_does_not_reproduce() -> None:
    legacy = reply({"now": "t1", "price": 1})
    again = reply({"now": "t2", "price": 1})
    service = reply({"now": "t3", "price": 2})
    assert diff(legacy, service, noise=again) == ["price: 1 != 2"]


def test_non_json_bodies_compare_as_bytes() -> None:
    a = Response(200, b"OK", [], b"<html>a</html>")
    b = Response(200, b"OK", [], b"<html>b</html>")
    assert diff(a, b) == ["body: differs (not JSON)"]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_consecutive_failures_open_then_a_probe_closes() -> None:
    clock, changes = Clock(), []
    breaker = CircuitBreaker("catalog", BreakerSettings(consecutive_failures=3, cool_down=10),
                             on_change=lambda *c: changes.append(c[1:3]), clock=clock)
    for _ in range(2):
        breaker.record(False)
    assert breaker.state == CLOSED
    breaker.record(False)
    assert breaker.state == OPEN and not breaker.allow()
    clock.now = 10
    assert breaker.allow() and breaker.state == HALF_OPEN
    assert not breaker.allow()  # one probe at a time
    breaker.record(True)
    assert breaker.state == CLOSED and breaker.allow()
    assert changes == [(CLOSED, OPEN), (OPEN, HALF_OPEN), (HALF_OPEN, CLOSED)]


def test_a_failed_probe_opens_again_for_a_full_cool_down() -> None:
    clock = Clock()
    breaker = CircuitBreaker("catalog", BreakerSettings(consecutive_failures=1, cool_down=5),
                             clock=clock)
    breaker.record(False)
    clock.now = 5
    assert breaker.allow()
    breaker.record(False)
    assert breaker.state == OPEN
    clock.now = 9
    assert not breaker.allow()


def test_an_error_ratio_opens_even_without_a_streak() -> None:
    breaker = CircuitBreaker("catalog", BreakerSettings(consecutive_failures=100, window=10,
                                                        min_requests=10, error_ratio=0.5))
    for n in range(10):
        breaker.record(n % 2 == 0)  # alternate: never two failures in a row
    assert breaker.state == OPEN


def test_successes_reset_the_streak() -> None:
    breaker = CircuitBreaker("catalog", BreakerSettings(consecutive_failures=3, min_requests=99))
    for ok in (False, False, True, False, False, True):
        breaker.record(ok)
    assert breaker.state == CLOSED
