"""HTTP plumbing: JSON out, pagination, and the one error shape every part of the system uses.

Copied from the monolith's ``platform/web.py`` (only the read side: request bodies arrive
with the write cutover), because a service does not import the monolith. What must not drift
from the original -- the JSON encoding, the error shape and messages, the query rules -- is
proved by the API comparison tests, which ask both for the same URLs and compare the bytes.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

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


class ApiError(Exception):
    """A failure with its HTTP status, machine-readable code and message for humans."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str) -> Response:
    """Build the one error shape: ``{"error": {"code": ..., "message": ...}}``."""
    return json_response({"error": {"code": code, "message": message}}, status)


def json_response(payload: Any, status: int = 200) -> Response:
    """Serialise ``payload`` (datetimes as RFC 3339 with milliseconds) as a JSON response."""
    body = json.dumps(payload, default=_json_default, separators=(",", ":"))
    return current_app.response_class(body, status=status, mimetype="application/json")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds")
    raise TypeError(f"cannot serialise {type(value).__name__}")


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


def register_error_handlers(app: Flask) -> None:
    """Map every failure to the JSON error shape."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message)

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
