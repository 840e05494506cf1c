"""Cross-cutting HTTP plumbing: bad input, the error shape, request ids, traces, probes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from legacy_monolith.app import Shop, build_shop, create_app
from legacy_monolith.platform.settings import Settings
from legacy_monolith.schema import metadata
from strangler_messaging import current_trace
from strangler_messaging.db import make_engine
from tests.conftest import outbox_events

CUSTOMER = {"email": "ann@example.com", "name": "Ann"}
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-01$")
_GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture(scope="module")
def plain_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    """One Shop on SQLite for the tests whose behaviour no database can change.

    They only send requests that are refused before any write (bad bodies, routing, headers),
    so they share one app instead of paying for a fresh schema on each database per test.
    """
    url = f"sqlite:///{tmp_path_factory.mktemp('plain') / 'monolith.db'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    wired = build_shop(Settings(database_url=url))
    yield wired
    wired.engine.dispose()


@pytest.fixture(scope="module")
def plain(plain_shop: Shop) -> FlaskClient:
    return create_app(Settings(database_url="unused://"), shop=plain_shop).test_client()


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """The response is the one error shape, with this status and code."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.json
    assert set(body) == {"error"}
    error = body["error"]
    assert {"code", "message"} <= set(error) <= {"code", "message", "details"}
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    if "details" in error:
        assert error["details"] and all(set(d) == {"field", "message"} for d in error["details"])
    return error  # type: ignore[no-any-return]


def metric_samples(client: FlaskClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.get_data(as_text=True))
            for s in family.samples}


# -- bad bodies ---------------------------------------------------------------------------------

def test_malformed_json_is_400(plain: FlaskClient, plain_shop: Shop) -> None:
    for raw in (b'{"email": "ann@example.com",', b"", b"{'email': 'x'}", b"\xff\xfe{}",
                b'{"a": 1} extra'):
        response = plain.post("/api/customers", data=raw, content_type="application/json")
        assert_error(response, 400, "malformed_json")
    assert outbox_events(plain_shop) == []


def test_a_json_body_that_is_not_an_object_is_400(plain: FlaskClient) -> None:
    for raw in (b"[]", b'[{"email": "ann@example.com", "name": "Ann"}]', b'"text"', b"42",
                b"null"):
        response = plain.post("/api/customers", data=raw, content_type="application/json")
        error = assert_error(response, 400, "malformed_json")
        assert error["message"] == "request body must be a JSON object"


def test_non_standard_number_literals_are_400(plain: FlaskClient) -> None:
    for literal in ("NaN", "Infinity", "-Infinity"):
        response = plain.put("/api/inventory/APL-1", data=f'{{"quantity": {literal}}}',
                              content_type="application/json")
        assert_error(response, 400, "malformed_json")
    assert plain.get("/api/inventory/APL-1").status_code == 404


def test_deeply_nested_json_is_400_not_500(plain: FlaskClient) -> None:
    # json.loads raises RecursionError, not ValueError, for this (under the size limit).
    for raw in (b"[" * 100_000, b'{"email": ' + b'{"a": ' * 30_000):
        response = plain.post("/api/customers", data=raw, content_type="application/json")
        assert_error(response, 400, "malformed_json")


def test_a_body_that_is_not_json_is_415(plain: FlaskClient, plain_shop: Shop) -> None:
    for content_type in (None, "text/plain", "application/x-www-form-urlencoded",
                         "application/xml"):
        response = plain.post("/api/customers", data=b'{"email":"a@b.co","name":"A"}',
                               content_type=content_type)
        assert_error(response, 415, "unsupported_media_type")
    assert outbox_events(plain_shop) == []


def test_json_with_a_charset_or_a_json_suffix_type_is_accepted(client: FlaskClient) -> None:
    assert client.post("/api/customers", json=CUSTOMER,
                       content_type="application/json; charset=utf-8").status_code == 201
    assert client.post("/api/customers", json={"email": "bo@example.com", "name": "Bo"},
                       content_type="application/vnd.shop+json").status_code == 201


def test_a_body_over_the_limit_is_413_and_writes_nothing(
        shop: Shop, shop_database_url: str) -> None:
    settings = Settings(database_url=shop_database_url, max_body_bytes=64)
    small = create_app(settings, shop=shop).test_client()
    response = small.post("/api/customers",
                          json={"email": "ann@example.com", "name": "A" * 100})
    assert_error(response, 413, "payload_too_large")
    assert outbox_events(shop) == []
    assert small.post("/api/customers", json=CUSTOMER).status_code == 201


def test_domain_and_validation_errors_share_the_shape(client: FlaskClient) -> None:
    assert client.post("/api/customers", json=CUSTOMER).status_code == 201
    assert_error(client.post("/api/customers", json=CUSTOMER), 409, "email_taken")
    assert_error(client.get("/api/customers/nobody"), 404, "customer_not_found")
    assert_error(client.post("/api/orders", json={"customer_id": "nobody", "lines": [
        {"product_id": "p", "quantity": 1}]}), 422, "unknown_customer")
    error = assert_error(client.post("/api/customers", json={"email": 1, "extra": 2}), 422,
                         "validation_error")
    assert {d["field"] for d in error["details"]} == {"email", "name", "extra"}


# -- routing ------------------------------------------------------------------------------------

def test_an_unsupported_method_is_405_with_allow(plain: FlaskClient) -> None:
    for method, url, allowed in (
        ("DELETE", "/api/customers", {"POST"}),
        ("PUT", "/api/orders", {"GET", "POST"}),
        ("POST", "/api/inventory/APL-1", {"GET", "PUT"}),
        ("GET", "/api/orders/some-id/cancel", {"POST"}),
    ):
        response = plain.open(url, method=method, json={})
        assert_error(response, 405, "method_not_allowed")
        allow = {m.strip() for m in response.headers["Allow"].split(",")}
        assert allowed <= allow and method not in allow, (url, allow)


def test_an_unknown_route_is_404_not_found(plain: FlaskClient) -> None:
    for url in ("/api/nope", "/", "/api/products/x/y", "/api/customers/"):
        error = assert_error(plain.get(url), 404, "not_found")
        assert error["message"] == "no endpoint at this path"


def test_bad_pagination_is_400_invalid_query(plain: FlaskClient) -> None:
    for endpoint in ("/api/products?", "/api/orders?customer_id=c&",
                     "/api/notifications?customer_id=c&"):
        for query in ("page=0", "page=-1", "page=x", "page=", "page=1.5", "page=%C2%B2",
                      "per_page=0", "per_page=-1", "per_page=x", "per_page=101"):
            response = plain.get(endpoint + query)
            assert_error(response, 400, "invalid_query")
        ok = plain.get(endpoint + "page=3&per_page=100").json
        assert (ok["page"], ok["per_page"], ok["items"]) == (3, 100, [])


def test_a_huge_page_number_is_400_not_500(client: FlaskClient) -> None:
    # Unbounded, it overflowed OFFSET: a 500 on both databases (for different reasons).
    for page in ("99999999999999999999", "1000001"):
        assert_error(client.get(f"/api/products?page={page}"), 400, "invalid_query")
    last = client.get("/api/products?page=1000000&per_page=100")
    assert last.status_code == 200 and last.json["items"] == []


# -- request ids and trace context --------------------------------------------------------------

def test_a_sane_request_id_is_echoed(plain: FlaskClient) -> None:
    for request_id in ("req-42", "a.b:c-D9", "x" * 128):
        headers = {"X-Request-ID": request_id}
        assert plain.get("/healthz", headers=headers).headers["X-Request-ID"] == request_id
        assert plain.get("/api/nope", headers=headers).headers["X-Request-ID"] == request_id


def test_an_insane_request_id_is_replaced(plain: FlaskClient) -> None:
    for request_id in ("has spaces", "x" * 200, "x" * 129, "", "a/b", "é"):
        response = plain.get("/healthz", headers={"X-Request-ID": request_id})
        assert _GENERATED_ID.match(response.headers["X-Request-ID"]), request_id


def test_each_request_without_an_id_gets_a_new_one(plain: FlaskClient) -> None:
    ids = {plain.get("/healthz").headers["X-Request-ID"] for _ in range(3)}
    assert len(ids) == 3 and all(_GENERATED_ID.match(i) for i in ids)


def test_an_incoming_traceparent_is_continued_as_a_child_span(plain: FlaskClient) -> None:
    response = plain.get("/healthz", headers={"traceparent": PARENT})
    match = _TRACEPARENT.match(response.headers["traceparent"])
    assert match is not None
    assert match.group(1) == TRACE_ID and match.group(2) != "00f067aa0ba902b7"
    assert current_trace() is None  # the request's context did not leak out


def test_a_missing_or_invalid_traceparent_starts_a_new_trace(plain: FlaskClient) -> None:
    for incoming in (None, "garbage", f"00-{'0' * 32}-00f067aa0ba902b7-01",
                     f"00-{TRACE_ID}-{'0' * 16}-01", f"ff-{TRACE_ID}-00f067aa0ba902b7-01",
                     f"00-{TRACE_ID}0-00f067aa0ba902b7-01"):
        headers = {"traceparent": incoming} if incoming is not None else {}
        first = _TRACEPARENT.match(plain.get("/healthz", headers=headers).headers["traceparent"])
        second = _TRACEPARENT.match(
            plain.get("/healthz", headers=headers).headers["traceparent"])
        assert first is not None and second is not None, incoming
        assert first.group(1) not in (TRACE_ID, "0" * 32) and first.group(1) != second.group(1)


def test_outbox_rows_carry_the_requests_trace_context(client: FlaskClient, shop: Shop) -> None:
    response = client.post("/api/customers", json=CUSTOMER,
                           headers={"traceparent": PARENT, "tracestate": "shop=1"})
    assert response.status_code == 201
    other = client.post("/api/products", json={"sku": "A-1", "name": "A", "price_cents": 1,
                                               "currency": "EUR"})
    events = outbox_events(shop)
    # registered, its handling decided, the welcome notification recorded; product created
    assert len(events) == 4
    assert {e.traceparent for e in events[:3]} == {response.headers["traceparent"]}
    assert {e.tracestate for e in events[:3]} == {"shop=1"}
    assert events[3].traceparent == other.headers["traceparent"]
    assert events[3].traceparent.split("-")[1] != TRACE_ID and events[3].tracestate is None


# -- probes and metrics -------------------------------------------------------------------------

def test_healthz_and_readyz_answer_200(client: FlaskClient) -> None:
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json == {"status": "ready"}


@pytest.fixture
def unreachable_shop() -> Iterator[Shop]:
    wired = build_shop(Settings(database_url="postgresql+psycopg://postgres@127.0.0.1:1/nope"))
    yield wired
    wired.engine.dispose()


@pytest.mark.timeout(5)
def test_readyz_is_503_when_the_database_does_not_answer(unreachable_shop: Shop) -> None:
    app = create_app(Settings(database_url="unused://"), shop=unreachable_shop).test_client()
    error = assert_error(app.get("/readyz"), 503, "not_ready")
    assert "database unreachable" in error["message"]
    assert app.get("/healthz").status_code == 200


def test_metrics_count_requests_by_route_template(client: FlaskClient) -> None:
    created = client.post("/api/products", json={"sku": "A-1", "name": "A", "price_cents": 1,
                                                 "currency": "EUR"})
    for _ in range(2):
        assert client.get(f"/api/products/{created.json['id']}").status_code == 200
    client.get("/api/nope")
    samples = metric_samples(client)

    def count(method: str, route: str, status: str) -> float | None:
        labels = frozenset({"method": method, "route": route, "status": status}.items())
        return samples.get(("shop_http_requests_total", labels))

    assert count("POST", "/api/products", "201") == 1
    assert count("GET", "/api/products/<product_id>", "200") == 2
    assert count("GET", "<unmatched>", "404") == 1
    routes = {dict(labels)["route"] for name, labels in samples
              if name == "shop_http_requests_total"}
    assert created.json["id"] not in "".join(routes)


def test_metrics_report_the_outbox_backlog(client: FlaskClient, shop: Shop) -> None:
    assert metric_samples(client)[("shop_outbox_pending_events", frozenset())] == 0
    client.post("/api/customers", json=CUSTOMER)
    client.put("/api/inventory/APL-1", json={"quantity": 3})
    samples = metric_samples(client)
    pending = len(outbox_events(shop))
    assert pending == 4  # registered, decided, recorded, stock changed
    assert samples[("shop_outbox_pending_events", frozenset())] == pending
    assert samples[("shop_outbox_oldest_pending_age_seconds", frozenset())] >= 0
