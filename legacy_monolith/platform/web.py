"""The monolith's HTTP plumbing: the shared kit, plus how its domain errors map to statuses.

Modules raise :mod:`legacy_monolith.platform.errors` (no HTTP in them); this is the one place
that decides their status.
"""

from __future__ import annotations

import logging

from flask import Flask, Response
from sqlalchemy.exc import IntegrityError

from legacy_monolith.platform.errors import Conflict, NotFound, RuleViolation, ShopError
from strangler_http import web
from strangler_http.web import (
    ApiError,
    PageRequest,
    StrictModel,
    error_response,
    json_response,
    page_payload,
    page_request,
    parse_body,
)
from strangler_messaging.ownership import NotWriteOwner

__all__ = ["ApiError", "PageRequest", "StrictModel", "error_response", "json_response",
           "page_payload", "page_request", "parse_body", "register_error_handlers"]

log = logging.getLogger(__name__)
_STATUS_OF = {NotFound: 404, Conflict: 409, RuleViolation: 422}


def register_error_handlers(app: Flask) -> None:
    """The shared handlers, plus the monolith's domain errors and constraint races."""
    web.register_error_handlers(app)

    @app.errorhandler(ShopError)
    def _shop_error(exc: ShopError) -> Response:
        status = next((s for kind, s in _STATUS_OF.items() if isinstance(exc, kind)), 500)
        if status == 500:
            log.error("unexpected domain error: %s", exc)
        return error_response(status, exc.code, exc.message)

    @app.errorhandler(IntegrityError)
    def _integrity_error(exc: IntegrityError) -> Response:
        log.warning("constraint violated: %s", exc.orig)
        return error_response(409, "conflict", "the change conflicts with existing data")

    @app.errorhandler(NotWriteOwner)
    def _not_write_owner(exc: NotWriteOwner) -> Response:
        # Only a request the proxy routed before it learnt of a hand-over lands here.
        log.warning("write refused: %s", exc)
        response = error_response(503, "not_write_owner", str(exc))
        response.headers["Retry-After"] = "1"
        return response
