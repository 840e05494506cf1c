"""Errors the modules raise; the HTTP layer maps each kind to a status (see ``web.py``).

Modules raise these with a stable machine-readable ``code`` (``sku_taken``) and a message for
humans. They carry no HTTP status: the same rule may later run in a consumer or a CLI.
"""

from __future__ import annotations


class ShopError(Exception):
    """Base of every expected failure."""

    default_code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code


class NotFound(ShopError):
    """The thing named does not exist."""

    default_code = "not_found"


class Conflict(ShopError):
    """The request clashes with the current state (a taken email, too little stock)."""

    default_code = "conflict"


class RuleViolation(ShopError):
    """The request is well-formed but breaks a business rule (an unknown product in an order)."""

    default_code = "rule_violation"
