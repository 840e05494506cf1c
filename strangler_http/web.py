"""JSON bodies, JSON responses, pagination and the error handlers of every Flask deployable.

Every error leaves as ``{"error": {"code": "...", "message": "..."}}`` (plus ``details`` for
field errors) with the status that says what went wrong, so a client cannot tell which
deployable answered.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from flask import Flask, Response, current_app, request
from pydantic import BaseModel, ConfigDict, ValidationError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", bound=BaseModel)

_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}
_HTTP_MESSAGES = {
    404: "no endpoint at this path",
    405: "this endpoint does not accept the method",
}
MAX_PER_PAGE = 100
MAX_PAGE = 1_000_000


class StrictModel(BaseModel):
    """Base of request bodies: exact JSON types, no unknown fields."""

    model_config = ConfigDict(strict=True, extra="forbid")


def error_response(status: int, code: str, message: str,
                   details: list[dict[str, str]] | None = None) -> Response:
    """Build the one error shape."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return json_response({"error": error}, status)


def json_response(payload: Any, status: int = 200) -> Response:
    """Serialise ``payload`` (datetimes as RFC 3339 with milliseconds) as a JSON response."""
    body = json.dumps(payload, default=_json_default, separators=(",", ":"))
    return current_app.response_class(body, status=status, mimetype="application/json")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds")
    raise TypeError(f"cannot serialise {type(value).__name__}")


def parse_body(model: type[ModelT]) -> ModelT:
    """Parse and validate the JSON request body against ``model``.

    Raises :class:`BadRequest`-style errors handled by :func:`register_error_handlers`.
    """
    if request.mimetype != "application/json" and not request.mimetype.endswith("+json"):
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    raw = request.get_data(cache=False)
    try:
        doc = json.loads(raw, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(400, "malformed_json", f"request body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise ApiError(400, "malformed_json", "request body is nested too deeply") from exc
    if not isinstance(doc, dict):
        raise ApiError(400, "malformed_json", "request body must be a JSON object")
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        details = [
            {"field": ".".join(str(p) for p in err["loc"]) or "(body)",
             "message": err["msg"].removeprefix("Value error, ")}
            for err in exc.errors(include_url=False)
        ]
        summary = "; ".join(f"{d['field']}: {d['message']}" for d in details[:3])
        raise ApiError(422, "validation_error", f"invalid request body: {summary}",
                       details) from exc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Pagination parameters of a list endpoint."""

    page: int
    per_page: int

    @property
    def offset(self) -> int:
        """Rows to skip."""
        return (self.page - 1) * self.per_page


def page_request(default_per_page: int = 20) -> PageRequest:
    """Read ``page`` and ``per_page`` from the query string (``per_page`` at most 100)."""
    page = _positive_int_arg("page", 1)
    if page > MAX_PAGE:
        raise ApiError(400, "invalid_query", f"page must be at most {MAX_PAGE}")
    per_page = _positive_int_arg("per_page", default_per_page)
    if per_page > MAX_PER_PAGE:
        raise ApiError(400, "invalid_query", f"per_page must be at most {MAX_PER_PAGE}")
    return PageRequest(page, per_page)


def _positive_int_arg(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
        raise ApiError(400, "invalid_query", f"{name} must be a positive integer")
    return int(raw)


def page_payload(items: list[Any], page: PageRequest, total: int) -> dict[str, Any]:
    """The list envelope every paginated endpoint returns."""
    return {"items": items, "page": page.page, "per_page": page.per_page, "total": total}


class ApiError(Exception):
    """An HTTP-level failure raised by the web layer itself (bad JSON, bad query)."""

    def __init__(self, status: int, code: str, message: str,
                 details: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


def register_error_handlers(app: Flask) -> None:
    """Map every failure to the JSON error shape (a deployable adds handlers for its own
    exception types; Flask picks the most specific one)."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        response = error_response(status, _HTTP_CODES.get(status, f"http_{status}"),
                                  _HTTP_MESSAGES.get(status) or exc.description or exc.name)
        for name, value in exc.get_headers():
            if name.lower() == "allow":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(500, "internal_error", "the server failed to handle the request")
