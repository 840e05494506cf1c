"""The one exception the client raises, parsed from the API's error body.

Every error of the API is ``{"error": {"code", "message", "details"?}}`` with the request's
``X-Request-ID`` header (``strangler_http.web``); anything else -- a proxy's HTML page, an
empty 502 -- still becomes a :class:`StorefrontError`, with code ``http_<status>``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

REQUEST_ID_HEADER = "X-Request-ID"


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field of a request body (``details`` of a 422)."""

    field: str
    message: str


class StorefrontError(Exception):
    """The API answered with an error status (or, see :class:`StorefrontUnavailable`, not at
    all). ``code`` is the API's stable machine-readable code (``product_not_found``)."""

    def __init__(self, status: int, code: str, message: str, request_id: str | None = None,
                 details: tuple[FieldError, ...] = ()) -> None:
        super().__init__(status, code, message, request_id)
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.details = details

    def __str__(self) -> str:
        where = f" (request {self.request_id})" if self.request_id else ""
        return f"HTTP {self.status} {self.code}: {self.message}{where}"

    @classmethod
    def from_response(cls, response: httpx.Response) -> StorefrontError:
        """The error an error response describes (the body read, never raised on)."""
        request_id = response.headers.get(REQUEST_ID_HEADER)
        error = _error_object(response.content)
        if error is None:
            text = response.text.strip()[:200] or response.reason_phrase or "no details"
            return cls(response.status_code, f"http_{response.status_code}", text, request_id)
        details = tuple(FieldError(str(d.get("field", "")), str(d.get("message", "")))
                        for d in error.get("details") or () if isinstance(d, dict))
        return cls(response.status_code, str(error["code"]), str(error["message"]),
                   request_id, details)


class StorefrontUnavailable(StorefrontError):
    """No answer at all: the connection failed or timed out (``status`` 0)."""

    def __init__(self, message: str) -> None:
        super().__init__(0, "unavailable", message)


def _error_object(body: bytes) -> dict[str, Any] | None:
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    error = doc.get("error") if isinstance(doc, dict) else None
    if not isinstance(error, dict) or not {"code", "message"} <= error.keys():
        return None
    return error
