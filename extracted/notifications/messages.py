"""What each notification says. Pure functions of the causing event's data.

The monolith's wording, restated (the service imports nothing of the monolith): a customer must
not be able to tell which side wrote to them. The recording tests compare both sides' output.
"""

from __future__ import annotations

from typing import Any

WELCOME = "welcome"
ORDER_PLACED = "order_placed"
ORDER_CANCELLED = "order_cancelled"


def _money(cents: int, currency: str) -> str:
    return f"{cents // 100}.{cents % 100:02d} {currency}"


def welcome(data: dict[str, Any]) -> tuple[str, str]:
    """Subject and body for a new customer."""
    return "Welcome to the Shop", f"Hello {data['name']}, your account is ready."


def order_placed(data: dict[str, Any]) -> tuple[str, str]:
    """Subject and body confirming an order."""
    units = sum(line["quantity"] for line in data["lines"])
    return (f"Order {data['id']} confirmed",
            f"We received your order of {units} item(s), total "
            f"{_money(data['total_cents'], data['currency'])}.")


def order_cancelled(data: dict[str, Any]) -> tuple[str, str]:
    """Subject and body confirming a cancellation."""
    return (f"Order {data['id']} cancelled",
            f"Your order of {_money(data['total_cents'], data['currency'])} was cancelled.")
