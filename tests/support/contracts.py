"""Check real traffic against the contract files in ``contracts/``.

The same helpers serve the monolith's contract tests, consumer tests and the provider
verification of extracted services:

- :func:`load_openapi` reads ``contracts/openapi.yaml``;
- :func:`assert_response_matches` checks one HTTP response against the operation it answered;
- :func:`request_body_errors` says what the contract thinks of a request body;
- :func:`event_validator` checks an event's CloudEvents envelope and its ``data``.

OpenAPI 3.1 schemas are JSON Schema 2020-12, so both halves validate with :mod:`jsonschema`;
``$ref`` is resolved through a :mod:`referencing` registry holding the whole document (or every
event schema file), never by rewriting schemas.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from werkzeug.http import parse_options_header
from werkzeug.wrappers import Response

from strangler_messaging import CloudEvent

REPO = Path(__file__).resolve().parents[2]
CONTRACTS = REPO / "contracts"
OPENAPI_PATH = CONTRACTS / "openapi.yaml"
EVENTS_DIR = CONTRACTS / "events"

EVENT_TYPE = re.compile(r"^[a-z]+(\.[a-z_]+)+\.v[1-9][0-9]*$")
"""What a versioned event type looks like: ``catalog.product.created.v1``."""
EVENT_ID_PREFIX = "urn:shop:events:"
ENVELOPE_ID = EVENT_ID_PREFIX + "cloudevent"

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
NO_SUCH_PATH = "/components/responses/NoSuchPath"
METHOD_NOT_ALLOWED = "/components/responses/MethodNotAllowed"
_SHARED_RESPONSE_STATUS = {NO_SUCH_PATH: 404, METHOD_NOT_ALLOWED: 405}
_OPENAPI_URI = "urn:shop:openapi"
_IMPLICIT_METHODS = {"HEAD", "OPTIONS"}


class ContractViolation(AssertionError):
    """A response, request body or event the contract does not allow."""


# -- OpenAPI -------------------------------------------------------------------------------


def load_openapi(path: Path = OPENAPI_PATH) -> dict[str, Any]:
    """The OpenAPI document as plain data (a fresh copy on every call)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser is 20x faster
    doc = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    if not isinstance(doc, dict):
        raise ContractViolation(f"{path} is not a YAML mapping")
    return doc


def documented_operations(openapi: Mapping[str, Any]) -> set[tuple[str, str]]:
    """Every ``(METHOD, path template)`` the document describes."""
    return {(method.upper(), path)
            for path, item in openapi["paths"].items()
            for method in item if method in HTTP_METHODS}


def match_path(openapi: Mapping[str, Any], path: str) -> str | None:
    """The documented path template a concrete request path falls under, if any.

    Templates without parameters win over templated ones, as OpenAPI requires.
    """
    templates: list[str] = sorted(openapi["paths"], key=lambda t: (t.count("{"), t))
    for template in templates:
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            return template
    return None


def assert_response_matches(openapi: Mapping[str, Any], method: str, path_template: str | None,
                            response: Response) -> None:
    """Fail unless ``response`` is one the contract documents for ``method path_template``.

    The status must be documented for the operation, every required response header present
    and valid, the media type documented, and the body valid against its schema (or absent
    when none is documented). Two cases have no operation of their own: a documented path
    asked with a method it does not list must answer the ``MethodNotAllowed`` response, whose
    ``Allow`` header lists exactly the documented methods (plus ``HEAD``/``OPTIONS``); and
    ``path_template=None`` (the request matched no documented path) must answer ``NoSuchPath``.
    """
    status = response.status_code
    where = f"{method.upper()} {path_template or '(undocumented path)'} -> {status}"
    problems: list[str] = []
    if path_template is None:
        pointer = NO_SUCH_PATH
        problems += _expect_status(openapi, pointer, status)
    else:
        item = openapi["paths"].get(path_template)
        if item is None:
            raise ContractViolation(f"{where}: path template not in the document")
        operation = item.get(method.lower())
        if operation is None:
            pointer = METHOD_NOT_ALLOWED
            problems += _expect_status(openapi, pointer, status)
            problems += _allow_problems(item, response)
        else:
            responses = operation["responses"]
            key = next((k for k in (str(status), f"{status // 100}XX", "default")
                        if k in responses), None)
            if key is None:
                raise ContractViolation(
                    f"{where}: status not documented (documented: {', '.join(responses)})")
            pointer = f"/paths/{_escape(path_template)}/{method.lower()}/responses/{key}"
    problems += _response_problems(openapi, pointer, response)
    if problems:
        raise ContractViolation(f"{where}:\n  " + "\n  ".join(problems))


def request_body_errors(openapi: Mapping[str, Any], method: str, path_template: str,
                        body: Any) -> list[str]:
    """Why the documented JSON request body schema rejects ``body`` (empty: it accepts it)."""
    operation = openapi["paths"][path_template][method.lower()]
    if "requestBody" not in operation:
        raise ContractViolation(f"{method.upper()} {path_template} documents no request body")
    base = f"/paths/{_escape(path_template)}/{method.lower()}/requestBody"
    spec, pointer = _resolve(openapi, base)
    if "application/json" not in spec["content"]:
        raise ContractViolation(f"{method.upper()} {path_template} takes no application/json")
    return _schema_errors(openapi, f"{pointer}/content/application~1json/schema", body)


def _expect_status(openapi: Mapping[str, Any], pointer: str, status: int) -> list[str]:
    _resolve(openapi, pointer)  # the shared response must be documented
    expected = _SHARED_RESPONSE_STATUS[pointer]
    return [] if status == expected else [f"expected {expected} ({pointer})"]


def _allow_problems(path_item: Mapping[str, Any], response: Response) -> list[str]:
    allow = {m.strip().upper() for m in response.headers.get("Allow", "").split(",") if m.strip()}
    documented = {m.upper() for m in path_item if m in HTTP_METHODS}
    if allow - _IMPLICIT_METHODS != documented:
        return [f"Allow lists {sorted(allow)}, the document {sorted(documented)}"]
    return []


def _response_problems(openapi: Mapping[str, Any], pointer: str,
                       response: Response) -> list[str]:
    spec, pointer = _resolve(openapi, pointer)
    problems: list[str] = []
    for name in spec.get("headers", {}):
        header, header_pointer = _resolve(openapi, f"{pointer}/headers/{_escape(name)}")
        value = response.headers.get(name)
        if value is None:
            if header.get("required"):
                problems.append(f"header {name} missing")
            continue
        problems += [f"header {name}: {e}"
                     for e in _schema_errors(openapi, f"{header_pointer}/schema", value)]
    body = response.get_data()
    content = spec.get("content") or {}
    if not content:
        if body:
            problems.append(f"no body documented, got {body[:80]!r}")
        return problems
    media_key = next((key for key in content if _media_matches(key, response)), None)
    if media_key is None:
        problems.append(f"content type {response.content_type!r} not documented "
                        f"(documented: {', '.join(content)})")
        return problems
    mimetype = response.mimetype or ""
    if mimetype == "application/json" or mimetype.endswith("+json"):
        try:
            instance = json.loads(body)
        except ValueError as exc:
            return [*problems, f"body is not JSON: {exc}"]
    else:
        instance = body.decode(response.mimetype_params.get("charset", "utf-8"))
    schema_pointer = f"{pointer}/content/{_escape(media_key)}/schema"
    problems += [f"body {e}" for e in _schema_errors(openapi, schema_pointer, instance)]
    return problems


def _media_matches(documented: str, response: Response) -> bool:
    mimetype, params = parse_options_header(documented)
    actual = response.mimetype_params
    return mimetype.lower() == response.mimetype and all(
        actual.get(name) == value for name, value in params.items())


def _resolve(openapi: Mapping[str, Any], pointer: str) -> tuple[Mapping[str, Any], str]:
    """The object at ``pointer``, following ``$ref`` (response, header, body objects)."""
    node = _at(openapi, pointer)
    seen = set()
    while "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/") or ref in seen:
            raise ContractViolation(f"unsupported or circular $ref {ref!r} at {pointer}")
        seen.add(ref)
        pointer = ref[1:]
        node = _at(openapi, pointer)
    return node, pointer


def _at(doc: Any, pointer: str) -> Any:
    for part in pointer.lstrip("/").split("/"):
        doc = doc[part.replace("~1", "/").replace("~0", "~")]
    return doc


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def _schema_errors(openapi: Mapping[str, Any], pointer: str, instance: Any) -> list[str]:
    resource = Resource.from_contents(openapi, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(_OPENAPI_URI, resource)
    return _errors({"$ref": f"{_OPENAPI_URI}#{quote(pointer, safe='/~')}"}, registry, instance)


def _errors(schema: Mapping[str, Any], registry: Registry[Any], instance: Any) -> list[str]:
    validator = Draft202012Validator(schema, registry=registry,
                                     format_checker=Draft202012Validator.FORMAT_CHECKER)
    return sorted(f"at {error.json_path}: {error.message}"
                  for error in validator.iter_errors(instance))


# -- Events --------------------------------------------------------------------------------


def event_schema_files(events_dir: Path = EVENTS_DIR) -> dict[str, Path]:
    """The data schema file of every event type, by type (the envelope and shared files aside)."""
    files = {path.name.removesuffix(".schema.json"): path
             for path in events_dir.glob("*.schema.json")}
    return {name: path for name, path in sorted(files.items()) if EVENT_TYPE.match(name)}


@cache
def event_registry(events_dir: Path = EVENTS_DIR) -> Registry[Any]:
    """Every schema file in ``events_dir``, checked against 2020-12 and registered by ``$id``.

    Each file's ``$id`` must be ``urn:shop:events:<file name without .schema.json>``.
    """
    resources = []
    for path in sorted(events_dir.glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
        expected = EVENT_ID_PREFIX + path.name.removesuffix(".schema.json")
        if schema.get("$id") != expected:
            raise ContractViolation(f"{path.name}: $id is {schema.get('$id')!r}, not {expected}")
        resources.append((expected, DRAFT202012.create_resource(schema)))
    return Registry().with_resources(resources)


@dataclass(frozen=True, slots=True)
class EventValidator:
    """Checks events of one type: the envelope, then ``data`` against the type's schema.

    A data schema may name, as annotations, the envelope's ``aggregatetype``
    (``x-aggregatetype``) and the ``data`` field that ``subject`` equals (``x-subject``).
    """

    type: str
    schema: Mapping[str, Any]
    registry: Registry[Any]

    def errors(self, event: CloudEvent | Mapping[str, Any]) -> list[str]:
        """Everything wrong with ``event`` (a :class:`CloudEvent` is checked as serialised)."""
        doc = json.loads(event.to_json()) if isinstance(event, CloudEvent) else dict(event)
        problems = [f"envelope {e}"
                    for e in _errors({"$ref": ENVELOPE_ID}, self.registry, doc)]
        if doc.get("type") != self.type:
            problems.append(f"type is {doc.get('type')!r}, expected {self.type!r}")
        data = doc.get("data")
        problems += [f"data {e}" for e in _errors({"$ref": self.schema["$id"]}, self.registry,
                                                  data)]
        aggregate = self.schema.get("x-aggregatetype")
        if aggregate is not None and doc.get("aggregatetype") != aggregate:
            problems.append(f"aggregatetype is {doc.get('aggregatetype')!r}, "
                            f"expected {aggregate!r}")
        subject_field = self.schema.get("x-subject")
        if subject_field is not None and isinstance(data, Mapping) and (
                doc.get("subject") != data.get(subject_field)):
            problems.append(f"subject {doc.get('subject')!r} is not data.{subject_field} "
                            f"{data.get(subject_field)!r}")
        return problems

    def validate(self, event: CloudEvent | Mapping[str, Any]) -> None:
        """Raise :class:`ContractViolation` listing every problem of ``event``."""
        problems = self.errors(event)
        if problems:
            raise ContractViolation(f"{self.type} event:\n  " + "\n  ".join(problems))


def event_validator(event_type: str, events_dir: Path = EVENTS_DIR) -> EventValidator:
    """The validator for ``event_type``; fails if the type has no schema file."""
    path = event_schema_files(events_dir).get(event_type)
    if path is None:
        raise ContractViolation(f"no schema file for event type {event_type!r} in {events_dir}")
    registry = event_registry(events_dir)
    schema = registry.contents(EVENT_ID_PREFIX + event_type)
    return EventValidator(event_type, schema, registry)
