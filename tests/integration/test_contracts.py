"""The contract files in ``contracts/`` hold for the monolith, on SQLite and PostgreSQL.

- ``openapi.yaml`` is valid OpenAPI 3.1 and documents exactly the routes the app serves;
- a scripted workflow through every operation, including its error responses, gets only
  documented responses, and request bodies are judged alike by the contract and the server;
- every event the workflow writes to the outbox matches the envelope and its type's schema,
  and the event types the code declares are exactly the ones with schema files;
- the helpers in :mod:`tests.support.contracts` do reject what the contract does not allow.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import pkgutil
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Response
from flask.testing import FlaskClient
from openapi_spec_validator import validate as validate_openapi
from pydantic import BaseModel
from sqlalchemy import create_engine
from werkzeug.test import TestResponse

import legacy_monolith
from legacy_monolith.app import Shop, build_shop, create_app
from legacy_monolith.catalog.schemas import ProductCreate, ProductPatch, ProductReplace
from legacy_monolith.customers.schemas import CustomerRegister
from legacy_monolith.inventory.schemas import StockSet
from legacy_monolith.orders.schemas import OrderPlace
from legacy_monolith.platform.settings import Settings
from strangler_messaging import CloudEvent
from tests.conftest import outbox_events
from tests.support.contracts import (
    EVENT_TYPE,
    EVENTS_DIR,
    ContractViolation,
    assert_response_matches,
    documented_operations,
    event_registry,
    event_schema_files,
    event_validator,
    load_openapi,
    match_path,
    request_body_errors,
)

Json = dict[str, Any]


@pytest.fixture(scope="module")
def openapi() -> Json:
    return load_openapi()


def declared_event_types() -> dict[str, str]:
    """Every event type a module's ``events.py`` declares, with the constant declaring it."""
    found: dict[str, str] = {}
    for info in pkgutil.iter_modules(legacy_monolith.__path__):
        name = f"legacy_monolith.{info.name}.events"
        if not info.ispkg or importlib.util.find_spec(name) is None:
            continue
        for attr, value in vars(importlib.import_module(name)).items():
            if attr.isupper() and isinstance(value, str) and EVENT_TYPE.match(value):
                found.setdefault(value, f"{name}.{attr}")
    return found


# -- The documents themselves --------------------------------------------------------------


def test_openapi_is_a_valid_openapi_3_1_document(openapi: Json) -> None:
    assert openapi["openapi"] == "3.1.0"
    validate_openapi(openapi)


def test_the_openapi_validity_check_can_fail() -> None:
    dangling = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {"/x": {
        "get": {"responses": {"200": {"$ref": "#/components/responses/NoSuchResponse"}}}}}}
    with pytest.raises(Exception, match="NoSuchResponse"):
        validate_openapi(dangling)


def test_served_routes_and_documented_operations_are_the_same(openapi: Json) -> None:
    app = create_app(Settings(database_url="sqlite://"))
    served = {
        (method, re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", rule.rule))
        for rule in app.url_map.iter_rules() if rule.endpoint != "static"
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    documented = documented_operations(openapi)
    assert served - documented == set(), "served but not documented"
    assert documented - served == set(), "documented but not served"


def test_every_declared_event_type_has_a_schema_file_and_vice_versa() -> None:
    declared = declared_event_types()
    files = event_schema_files()
    assert declared, "no event types found in legacy_monolith/*/events.py"
    missing = {t: where for t, where in declared.items() if t not in files}
    assert missing == {}, "declared event types without a schema file"
    assert set(files) - set(declared) == set(), "schema files for types nobody declares"


def test_event_schemas_are_closed_described_and_require_every_field() -> None:
    registry = event_registry()
    assert {"cloudevent", "definitions"} <= {p.name.split(".")[0] for p in
                                             EVENTS_DIR.glob("*.schema.json")}
    for event_type in event_schema_files():
        schema = registry.contents(f"urn:shop:events:{event_type}")
        assert schema["title"] == event_type and schema["description"], event_type
        assert schema["x-aggregatetype"] and schema["x-subject"], event_type
        shape = schema
        while "properties" not in shape or "required" not in shape:  # follow $ref to the shape
            uri, _, pointer = shape["$ref"].partition("#")
            shape = registry.resolver().lookup(f"{uri}#{pointer}").contents
        assert shape["additionalProperties"] is False, event_type
        assert set(shape["required"]) == set(shape["properties"]), event_type
        assert schema["x-subject"] in shape["properties"], event_type


REQUEST_MODELS: dict[tuple[str, str], type[BaseModel]] = {
    ("POST", "/api/products"): ProductCreate,
    ("PUT", "/api/products/{product_id}"): ProductReplace,
    ("PATCH", "/api/products/{product_id}"): ProductPatch,
    ("POST", "/api/customers"): CustomerRegister,
    ("PUT", "/api/inventory/{sku}"): StockSet,
    ("POST", "/api/orders"): OrderPlace,
}
_CONSTRAINTS = ("type", "minLength", "maxLength", "pattern", "minimum", "maximum", "minItems",
                "maxItems", "additionalProperties")


def _shape(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Any:
    """The constraints of a schema, comparable between pydantic's and the OpenAPI's."""
    while "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    if "anyOf" in schema:  # pydantic's `X | None`; that null is rejected is checked elsewhere
        [schema] = [s for s in schema["anyOf"] if s.get("type") != "null"]
    shape = {k: schema[k] for k in _CONSTRAINTS if k in schema}
    if schema.get("default") is not None:
        shape["default"] = schema["default"]
    if "properties" in schema:
        shape["required"] = sorted(schema.get("required", []))
        shape["properties"] = {k: _shape(v, root) for k, v in schema["properties"].items()}
    if "items" in schema:
        shape["items"] = _shape(schema["items"], root)
    return shape


def test_request_body_schemas_mirror_the_request_models(openapi: Json) -> None:
    with_body = {(m.upper(), path) for path, item in openapi["paths"].items()
                 for m, op in item.items() if isinstance(op, dict) and "requestBody" in op}
    assert with_body == set(REQUEST_MODELS)
    for (method, path), model in REQUEST_MODELS.items():
        documented = openapi["paths"][path][method.lower()]["requestBody"]["content"][
            "application/json"]["schema"]
        generated = model.model_json_schema()
        assert _shape(documented, openapi) == _shape(generated, generated), (method, path)


# -- A workflow through every operation ----------------------------------------------------


@dataclass
class ContractClient:
    """A test client checking each response against the contract as the workflow goes.

    Every other request sends its own ``X-Request-ID`` and ``traceparent``, which the response
    must echo (the id) and continue (the trace). Request bodies are judged by the contract too:
    it must reject what the server rejects as ``validation_error``, and accept the rest.
    """

    client: FlaskClient
    openapi: Json
    exercised: set[tuple[str, str | None, int]] = field(default_factory=set)
    traceparents: set[str] = field(default_factory=set)
    calls: int = 0

    def call(self, method: str, url: str, status: int, code: str | None = None,
             **kwargs: Any) -> TestResponse:
        self.calls += 1
        headers: dict[str, str] = {}
        trace_id = f"{self.calls:032x}"
        if self.calls % 2:
            headers = {"X-Request-ID": f"contract-{self.calls}",
                       "traceparent": f"00-{trace_id}-{'5' * 16}-01"}
        response = self.client.open(url, method=method, headers=headers, **kwargs)
        assert response.status_code == status, (
            f"{method} {url}: {response.status_code} {response.get_data(as_text=True)[:300]}")
        template = match_path(self.openapi, urlsplit(url).path)
        assert_response_matches(self.openapi, method, template, response)
        if code is not None:
            assert response.json is not None and response.json["error"]["code"] == code
        if headers:
            assert response.headers["X-Request-ID"] == headers["X-Request-ID"]
            assert response.headers["traceparent"].split("-")[1] == trace_id
            assert response.headers["traceparent"] != headers["traceparent"]
        self.traceparents.add(response.headers["traceparent"])
        self._judge_body(method, template, kwargs.get("json"), status, code)
        self.exercised.add((method, template, status))
        return response

    def _judge_body(self, method: str, template: str | None, body: Any, status: int,
                    code: str | None) -> None:
        operation = self.openapi["paths"].get(template, {}).get(method.lower()) or {}
        if body is None or "requestBody" not in operation or not isinstance(body, dict):
            return
        assert template is not None
        errors = request_body_errors(self.openapi, method, template, body)
        if code == "validation_error":
            assert errors, f"{method} {template}: the contract accepts {body}, the server not"
        elif status not in (400, 413, 415):
            assert not errors, f"{method} {template}: the server accepts {body}: {errors}"


APPLE = {"sku": "APL-1", "name": "Apple", "price_cents": 120, "currency": "EUR"}
PEAR = {"sku": "PEAR-1", "name": "Pear", "description": "Green", "price_cents": 99,
        "currency": "EUR", "active": True}
DOLLAR_APPLE = {"sku": "USD-1", "name": "Dollar apple", "price_cents": 130, "currency": "USD"}
RETIRED = {"sku": "OLD-1", "name": "Old apple", "price_cents": 10, "currency": "EUR",
           "active": False}
FLEETING = {"sku": "TMP-1", "name": "Fleeting", "price_cents": 1, "currency": "EUR"}
ADA = {"email": "Ada@Example.com", "name": "Ada"}


def run_workflow(client: FlaskClient, openapi: Json) -> ContractClient:
    """Every operation, its success and its documented errors, checked as they happen."""
    api = ContractClient(client, openapi)
    for path in ("/healthz", "/readyz", "/metrics"):
        api.call("GET", path, 200)

    # Catalog
    apple = api.call("POST", "/api/products", 201, json=APPLE)
    apple_url = apple.headers["Location"]
    assert api.call("GET", apple_url, 200).json == apple.json
    pear_url = api.call("POST", "/api/products", 201, json=PEAR).headers["Location"]
    dollar = api.call("POST", "/api/products", 201, json=DOLLAR_APPLE).json
    retired = api.call("POST", "/api/products", 201, json=RETIRED).json
    fleeting_url = api.call("POST", "/api/products", 201, json=FLEETING).headers["Location"]
    api.call("GET", "/api/products?page=1&per_page=2&q=APPLE", 200)
    api.call("PATCH", apple_url, 200, json={"price_cents": 150})
    api.call("PUT", pear_url, 200, json={**PEAR, "description": "Ripe"})
    api.call("DELETE", fleeting_url, 204)
    api.call("GET", fleeting_url, 404, "product_not_found")

    # Customers and stock
    ada = api.call("POST", "/api/customers", 201, json=ADA)
    api.call("GET", ada.headers["Location"], 200)
    ada_id = ada.json["id"]  # type: ignore[index]
    api.call("PUT", "/api/inventory/APL-1", 200, json={"quantity": 5})
    api.call("PUT", "/api/inventory/PEAR-1", 200, json={"quantity": 5})
    api.call("GET", "/api/inventory/APL-1", 200)

    # Orders and notifications
    apple_id, pear_id = apple.json["id"], pear_url.rsplit("/", 1)[1]  # type: ignore[index]
    order = api.call("POST", "/api/orders", 201, json={"customer_id": ada_id, "lines": [
        {"product_id": apple_id, "quantity": 2}, {"product_id": pear_id, "quantity": 1}]})
    order_url = order.headers["Location"]
    api.call("GET", order_url, 200)
    api.call("GET", f"/api/orders?customer_id={ada_id}&per_page=100", 200)
    api.call("POST", f"{order_url}/cancel", 200)
    api.call("GET", f"/api/notifications?customer_id={ada_id}", 200)

    # Conflicts
    api.call("POST", f"{order_url}/cancel", 409, "order_not_cancellable")
    api.call("POST", "/api/products", 409, "sku_taken", json={**APPLE, "name": "Other"})
    api.call("PATCH", pear_url, 409, "sku_taken", json={"sku": "APL-1"})
    api.call("PUT", pear_url, 409, "sku_taken", json={**PEAR, "sku": "APL-1"})
    api.call("POST", "/api/customers", 409, "email_taken", json={**ADA, "email": "ada@example.COM"})
    api.call("POST", "/api/orders", 409, "insufficient_stock", json={
        "customer_id": ada_id, "lines": [{"product_id": apple_id, "quantity": 6}]})

    # Orders that break a rule
    def line(product_id: str) -> Json:
        return {"product_id": product_id, "quantity": 1}

    for code, customer_id, lines in [
        ("unknown_customer", "no-such-customer", [line(apple_id)]),
        ("duplicate_product", ada_id, [line(apple_id), line(apple_id)]),
        ("unknown_product", ada_id, [line("no-such-product")]),
        ("product_inactive", ada_id, [line(retired["id"])]),  # type: ignore[index]
        ("mixed_currency", ada_id, [line(apple_id), line(dollar["id"])]),  # type: ignore[index]
    ]:
        api.call("POST", "/api/orders", 422, code, json={"customer_id": customer_id,
                                                         "lines": lines})

    # Unknown ids
    nothing = "/api/products/no-such-product"
    api.call("GET", nothing, 404, "product_not_found")
    api.call("PUT", nothing, 404, "product_not_found", json=PEAR)
    api.call("PATCH", nothing, 404, "product_not_found", json={"name": "Nothing"})
    api.call("DELETE", nothing, 404, "product_not_found")
    api.call("GET", "/api/customers/no-such-customer", 404, "customer_not_found")
    api.call("GET", "/api/inventory/NO-SUCH-SKU", 404, "stock_not_found")
    api.call("GET", "/api/orders/no-such-order", 404, "order_not_found")
    api.call("POST", "/api/orders/no-such-order/cancel", 404, "order_not_found")

    # Bad queries
    for url in ("/api/products?per_page=101", "/api/products?page=0", "/api/products?page=-1",
                f"/api/products?q={'x' * 101}", "/api/orders", "/api/notifications?customer_id="):
        api.call("GET", url, 400, "invalid_query")

    # Bodies that are not JSON, too large, not sent as JSON, or invalid
    too_large = b" " * (client.application.config["MAX_CONTENT_LENGTH"] + 1)
    bodies: list[tuple[str, str, Json]] = [
        ("POST", "/api/products", APPLE),
        ("PUT", apple_url, PEAR),
        ("PATCH", apple_url, {"name": "Apple"}),
        ("POST", "/api/customers", ADA),
        ("PUT", "/api/inventory/APL-1", {"quantity": 1}),
        ("POST", "/api/orders", {"customer_id": ada_id, "lines": [line(apple_id)]}),
    ]
    for method, url, body in bodies:
        api.call(method, url, 400, "malformed_json", data=b'{"sku": ',
                 content_type="application/json")
        api.call(method, url, 400, "malformed_json", json=[body])
        api.call(method, url, 413, "payload_too_large", data=too_large,
                 content_type="application/json")
        api.call(method, url, 415, "unsupported_media_type", data=json.dumps(body),
                 content_type="text/plain")
        api.call(method, url, 422, "validation_error", json={**body, "unexpected": True})

    # Methods and paths nobody serves
    api.call("DELETE", ada.headers["Location"], 405, "method_not_allowed")
    api.call("POST", apple_url, 405, "method_not_allowed")
    api.call("PUT", "/healthz", 405, "method_not_allowed")
    api.call("GET", "/api/nothing-here", 404, "not_found")
    return api


NOT_FROM_THE_API = {
    "catalog.product.snapshot.v1": "written by backfill and reconcile (test_backfill.py)",
}
NOT_IN_THE_WORKFLOW = {
    ("GET", "/readyz", "503"): "test_readiness_and_metrics_without_a_database",
    ("PUT", "/api/inventory/{sku}", "409"): "needs two concurrent first counts of one SKU",
}


def test_a_workflow_through_every_operation_honours_the_contract(
        client: FlaskClient, shop: Shop, openapi: Json) -> None:
    api = run_workflow(client, openapi)  # every response is checked as it arrives

    called = {(method, path) for method, path, _ in api.exercised if path is not None}
    assert documented_operations(openapi) - called == set(), "operations the workflow skips"
    documented = {(method.upper(), path, status)
                  for path, item in openapi["paths"].items()
                  for method, op in item.items() if isinstance(op, dict) and "responses" in op
                  for status in op["responses"] if status != "500"}
    seen = {(method, path, str(status)) for method, path, status in api.exercised}
    assert documented - seen - set(NOT_IN_THE_WORKFLOW) == set(), (
        "documented responses the workflow never provokes")

    events = outbox_events(shop)
    problems = []
    for event in events:
        try:
            event_validator(event.type).validate(event)
        except ContractViolation as exc:
            problems.append(str(exc))
    assert problems == [], "events that break their contract"
    assert {e.type for e in events} == set(declared_event_types()) - set(NOT_FROM_THE_API), (
        "the workflow should publish every declared event type")
    assert {e.traceparent for e in events} <= api.traceparents, (
        "an event must carry the trace context of the request that caused it")


def test_readiness_and_metrics_without_a_database(openapi: Json, tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'missing' / 'shop.db'}")
    engine = create_engine(settings.database_url)  # its directory does not exist
    try:
        client = create_app(settings, shop=build_shop(settings, engine)).test_client()
        for path, status in [("/healthz", 200), ("/readyz", 503), ("/metrics", 200)]:
            response = client.get(path)
            assert response.status_code == status
            assert_response_matches(openapi, "GET", path, response)
        metrics = client.get("/metrics").get_data(as_text=True)
        assert "shop_database_up 0.0" in metrics
        assert "shop_outbox_pending_events" not in metrics
    finally:
        engine.dispose()


# -- The contract and the server judge request bodies alike --------------------------------

PRODUCT: Json = {"sku": "B-1", "name": "Base", "price_cents": 100, "currency": "EUR"}
PRODUCT_CHANGES: list[Json] = [
    {}, {"sku": ""}, {"sku": "s" * 64}, {"sku": "s" * 65}, {"sku": "-s"}, {"sku": "a b"},
    {"sku": "a.b_c-D9"}, {"name": ""}, {"name": "n" * 200}, {"name": "n" * 201},
    {"description": "d" * 5000}, {"description": "d" * 5001}, {"price_cents": -1},
    {"price_cents": 0}, {"price_cents": 10**11}, {"price_cents": 10**11 + 1},
    {"price_cents": "100"}, {"price_cents": True}, {"price_cents": None},
    {"currency": "eur"}, {"currency": "EURO"}, {"currency": "USD"}, {"active": "yes"},
    {"active": False}, {"active": None}, {"extra": 1},
]
PATCHES: list[Json] = [
    {}, {"name": None}, {"sku": 5}, {"price_cents": -1}, {"active": False}, {"description": ""},
    {"currency": "GBP"}, {"id": "x"},
]
ORDER_LINES: list[Any] = [
    [], [{"product_id": "p", "quantity": 1}],
    [{"product_id": f"p{n}", "quantity": 1} for n in range(100)],
    [{"product_id": f"p{n}", "quantity": 1} for n in range(101)],
    [{"product_id": "p", "quantity": 0}], [{"product_id": "p", "quantity": 1000}],
    [{"product_id": "p", "quantity": 1001}], [{"product_id": "", "quantity": 1}],
    [{"product_id": "p" * 36, "quantity": 1}], [{"product_id": "p" * 37, "quantity": 1}],
    [{"product_id": "p", "quantity": 1, "price": 1}], [{"product_id": "p"}], "p",
]
EMAILS = ["a@b.co", "a@b", "a b@c.de", "@b.co", "a@@b.co", "a@b.c@d", f"a@b.{'c' * 250}",
          f"a@b.{'c' * 251}", ""]
BODY_CASES: list[tuple[str, str, Json]] = [
    *[("POST", "/api/products", {**PRODUCT, **change}) for change in PRODUCT_CHANGES],
    *[("POST", "/api/products", {k: v for k, v in PRODUCT.items() if k != missing})
      for missing in PRODUCT],
    ("PUT", "{product}", {**PRODUCT, "sku": "B-2", "description": "", "active": True}),
    ("PUT", "{product}", {**PRODUCT, "active": True}),
    *[("PATCH", "{product}", body) for body in PATCHES],
    *[("POST", "/api/customers", {"email": email, "name": "N"}) for email in EMAILS],
    ("POST", "/api/customers", {"email": "z@b.co", "name": ""}),
    ("POST", "/api/customers", {"email": "y@b.co", "name": "n" * 201}),
    ("POST", "/api/customers", {"email": "x@b.co"}),
    *[("PUT", "/api/inventory/B-1", {"quantity": q}) for q in
      [-1, 0, 10**9, 10**9 + 1, "1", 1.5, None]],
    ("PUT", "/api/inventory/B-1", {}),
    *[("POST", "/api/orders", {"customer_id": "c", "lines": lines}) for lines in ORDER_LINES],
    *[("POST", "/api/orders", {"customer_id": c, "lines": [{"product_id": "p", "quantity": 1}]})
      for c in ["", "c" * 36, "c" * 37, 7]],
]


def test_the_contract_and_the_server_accept_the_same_request_bodies(
        client: FlaskClient, openapi: Json) -> None:
    product_url = client.post("/api/products", json={**PRODUCT, "sku": "TARGET"}).headers[
        "Location"]
    disagreements = []
    for method, url, body in BODY_CASES:
        url = url.replace("{product}", product_url)
        response = client.open(url, method=method, json=body)
        template = match_path(openapi, url)
        assert template is not None
        assert_response_matches(openapi, method, template, response)
        server_rejects = response.status_code == 422 and (
            response.json is not None and response.json["error"]["code"] == "validation_error")
        contract_errors = request_body_errors(openapi, method, template, body)
        if server_rejects != bool(contract_errors):
            disagreements.append((method, template, body, response.json, contract_errors))
    assert disagreements == []


# -- The helpers do fail -------------------------------------------------------------------

TRACEPARENT = f"00-{'1' * 32}-{'2' * 16}-01"
PRODUCT_BODY: Json = {
    "id": "01890a5d-ac96-774b-bcce-b302099a8057", "sku": "APL-1", "name": "Apple",
    "description": "", "price_cents": 120, "currency": "EUR", "active": True,
    "created_at": "2024-05-01T12:34:56.789+00:00", "updated_at": "2024-05-01T12:34:56.789+00:00",
}


def fake_response(body: Any = PRODUCT_BODY, status: int = 200,
                  mimetype: str = "application/json",
                  headers: Mapping[str, str] | None = None) -> Response:
    """A response as a server might send it, by default a valid ``GET`` of a product."""
    response = Response(json.dumps(body), status=status, mimetype=mimetype)
    response.headers.update({"X-Request-ID": "req-1", "traceparent": TRACEPARENT,
                             **(headers or {})})
    return response


def test_assert_response_matches_accepts_a_documented_response(openapi: Json) -> None:
    assert_response_matches(openapi, "GET", "/api/products/{product_id}", fake_response())


def _without(field: str) -> Json:
    return {k: v for k, v in PRODUCT_BODY.items() if k != field}


@pytest.mark.parametrize(("method", "path", "response"), [
    ("GET", "/api/products/{product_id}", fake_response({**PRODUCT_BODY, "stock": 3})),
    ("GET", "/api/products/{product_id}", fake_response(_without("currency"))),
    ("GET", "/api/products/{product_id}", fake_response({**PRODUCT_BODY, "price_cents": "1"})),
    ("GET", "/api/products/{product_id}",
     fake_response({**PRODUCT_BODY, "created_at": "2024-05-01T12:34:56Z"})),
    ("GET", "/api/products/{product_id}", fake_response(status=418)),
    ("GET", "/api/products/{product_id}", fake_response(mimetype="text/html")),
    ("GET", "/api/products/{product_id}", fake_response(headers={"traceparent": "not-a-trace"})),
    ("GET", "/api/products/{product_id}",
     fake_response({"error": {"code": "not_found", "message": "x"}}, status=404)),
    ("GET", "/api/products/{product_id}",
     fake_response({"error": {"code": "product_not_found", "message": "x", "hint": "?"}}, 404)),
    ("POST", "/api/products", fake_response(status=201)),  # no Location
    ("DELETE", "/api/products/{product_id}", fake_response(status=204)),  # a body
    ("POST", "/api/orders", fake_response(
        {"error": {"code": "validation_error", "message": "x"}}, status=422)),  # no details
    ("POST", "/api/products/{product_id}", fake_response(
        {"error": {"code": "method_not_allowed", "message": "x"}}, 405,
        headers={"Allow": "GET, POST"})),
    ("GET", None, fake_response({"error": {"code": "not_found", "message": "x"}}, 405)),
    ("GET", "/api/no-such-path", fake_response()),
], ids=["extra field", "missing field", "wrong type", "timestamp without milliseconds",
        "undocumented status", "undocumented media type", "invalid header",
        "error code not documented here", "extra error field", "missing Location",
        "body on 204", "validation error without details", "wrong Allow",
        "undocumented path not 404", "unknown path template"])
def test_assert_response_matches_rejects_what_the_contract_does_not_allow(
        openapi: Json, method: str, path: str | None, response: Response) -> None:
    with pytest.raises(ContractViolation):
        assert_response_matches(openapi, method, path, response)


def created_event(**changes: Any) -> Json:
    event = CloudEvent(
        id="01890a5d-ac96-774b-bcce-b302099a8058", source="/shop/monolith",
        type="catalog.product.created.v1", subject=PRODUCT_BODY["id"],
        time=datetime.fromisoformat("2024-05-01T12:34:56.789+00:00"),
        aggregatetype="product", aggregatesequence=1, origin="monolith", data=PRODUCT_BODY,
        traceparent=TRACEPARENT,
    ).to_dict()
    return {k: v for k, v in {**event, **changes}.items() if v is not None}


def test_event_validator_accepts_a_valid_event() -> None:
    event_validator("catalog.product.created.v1").validate(created_event())


@pytest.mark.parametrize("event", [
    created_event(data={**PRODUCT_BODY, "price_cents": "120"}),
    created_event(data={**PRODUCT_BODY, "stock": 3}),
    created_event(data=_without("sku")),
    created_event(data={**PRODUCT_BODY, "currency": "eur"}),
    created_event(aggregatesequence=0),
    created_event(aggregatesequence="1"),
    created_event(origin=None),
    created_event(traceparent="00-abc"),
    created_event(time="2024-05-01T12:34:56.789"),
    created_event(specversion="0.3"),
    created_event(partitionkey="x"),
    created_event(type="catalog.product.updated.v1"),
    created_event(aggregatetype="order"),
    created_event(subject="another-product"),
], ids=["wrong data type", "extra data field", "missing data field", "invalid data value",
        "sequence below 1", "sequence as a string", "missing extension", "invalid traceparent",
        "time without offset", "wrong specversion", "unknown attribute", "another type",
        "wrong aggregatetype", "subject is not the id"])
def test_event_validator_rejects_what_the_contract_does_not_allow(event: Json) -> None:
    with pytest.raises(ContractViolation):
        event_validator("catalog.product.created.v1").validate(event)


def test_event_validator_rejects_a_type_without_a_schema() -> None:
    with pytest.raises(ContractViolation, match="no schema file"):
        event_validator("catalog.product.renamed.v1")


def test_stock_events_must_move_stock_the_way_their_reason_says() -> None:
    validator = event_validator("inventory.stock.changed.v1")

    def stock(delta: int, reason: str) -> Json:
        data = {"sku": "APL-1", "quantity": 3, "updated_at": PRODUCT_BODY["updated_at"],
                "delta": delta, "reason": reason}
        return created_event(type="inventory.stock.changed.v1", aggregatetype="stock",
                             subject="APL-1", data=data)

    check: Callable[[Json], list[str]] = validator.errors
    assert check(stock(0, "set")) == [] and check(stock(-2, "reserved")) == []
    assert check(stock(2, "released")) == []
    assert check(stock(2, "reserved")) and check(stock(-2, "released"))
