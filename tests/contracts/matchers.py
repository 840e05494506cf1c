"""Matchers shared by the pacts: what the consumers rely on, with the examples they see."""

from __future__ import annotations

from typing import Any

from pact import match

TIMESTAMP_EXAMPLE = "2026-01-02T03:04:05.678+00:00"
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
"""A lower-case UUIDv7: how the Shop mints every id."""


def timestamp(example: str = TIMESTAMP_EXAMPLE) -> Any:
    """RFC 3339 in UTC with exactly three fractional digits and ``+00:00``.

    Written in the verifier's own (Java) pattern language: ``%:z`` would give the ``XXX`` used
    here, but Python's ``%f`` becomes ``SSSSSS``, which accepts any number of digits.
    """
    return match.datetime(example, "yyyy-MM-dd'T'HH:mm:ss.SSSXXX", disable_conversion=True)


def uuid7(example: str) -> Any:
    """An id the server mints: any lower-case UUIDv7."""
    return match.regex(example, regex=UUID_PATTERN)


def product(id: Any, sku: Any, **exact: Any) -> dict[str, Any]:
    """A product as the API and the events present it: ``id`` and ``sku`` as given, the
    fields in ``exact`` exactly, every other field by type."""
    like = {"name": match.str("Blue Mug"), "description": match.str("A mug"),
            "price_cents": match.int(1250), "currency": match.regex("EUR", regex=r"^[A-Z]{3}$"),
            "active": match.bool(True)}
    return {"id": id, "sku": sku, **like, **exact,
            "created_at": timestamp(), "updated_at": timestamp()}


TEXT_EXAMPLES = {
    "welcome": ("Welcome to the Shop", "Hello Ann, your account is ready."),
    "order_placed": ("Order 0193a1b2-4444-7000-8000-000000000001 confirmed",
                     "We received your order of 2 item(s), total 5.00 EUR."),
    "order_cancelled": ("Order 0193a1b2-4444-7000-8000-000000000001 cancelled",
                        "Your order of 5.00 EUR was cancelled."),
}
"""Subject and body of each kind of notification, as examples."""


def notification(id: Any, customer_id: Any, kind: str, recipient: str | None,
                 **exact: Any) -> dict[str, Any]:
    """A notification as the API lists it: ``id``, ``customer_id``, ``kind`` and ``recipient``
    as given (null is exactly null), the fields in ``exact`` exactly, the texts by type."""
    subject, body = TEXT_EXAMPLES[kind]
    like = {"subject": match.str(subject), "body": match.str(body)}
    return {"id": id, "customer_id": customer_id, "kind": kind, "recipient": recipient,
            **like, **exact, "created_at": timestamp()}


def error(code: str, example_message: str) -> dict[str, Any]:
    """The API's error body: this exact ``code``, any message."""
    return {"error": {"code": code, "message": match.str(example_message)}}
