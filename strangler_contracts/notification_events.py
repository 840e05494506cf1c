"""The monolith's events the notifications service consumes, and how the monolith makes each.

The causing events (a customer registered, an order placed or cancelled) and the decision the
monolith publishes with each (``notifications.handling.decided.v1``, ADR 0009). Every message
is produced by a real command through the Shop's facades -- register, place, cancel -- on the
backend's own database, and read back from the outbox row that command committed. Which side a
decision names comes from the monolith's ``notifications`` ownership row, which the provider
state ``notifications are handled by`` sets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pact.types import Message
from sqlalchemy import Table

from strangler_contracts.provider import MessageProducer, describe, newest_event

if TYPE_CHECKING:
    from legacy_monolith.app import Shop

CUSTOMER_REGISTERED = "customers.customer.registered.v1"
ORDER_PLACED = "orders.order.placed.v1"
ORDER_CANCELLED = "orders.order.cancelled.v1"
HANDLING_DECIDED = "notifications.handling.decided.v1"
CAUSES = (CUSTOMER_REGISTERED, ORDER_PLACED, ORDER_CANCELLED)
"""The events the monolith decides a notification for."""
SIDES = ("monolith", "notifications")
"""Who a decision may name (``handled_by``)."""

NEW_CUSTOMER = {"email": "ann@example.com", "name": "Ann"}
"""Who registers when a producer needs a customer."""
ORDERED_SKU = "APL-1"
ORDERED_PRODUCT = {"sku": ORDERED_SKU, "name": "Apple", "description": "A green apple",
                   "price_cents": 250, "currency": "EUR", "active": True}
ORDERED_QUANTITY = 2


def describe_decision(cause: str, handled_by: str) -> str:
    """The pact description of the decision about one ``cause`` event naming ``handled_by``."""
    return f"a {HANDLING_DECIDED} event deciding a {cause} event for {handled_by}"


class ShopCommands:
    """The Shop's real commands behind each causing event."""

    def __init__(self, shop: Shop) -> None:
        self._shop = shop

    def register(self) -> str:
        """Register a customer; their id."""
        return str(self._shop.customers.register(**NEW_CUSTOMER)["id"])

    def place(self) -> str:
        """Register a customer and place an order of a product in stock; the order's id."""
        customer = self.register()
        product = self._shop.catalog.create_product(ORDERED_PRODUCT)
        self._shop.inventory.set_stock(ORDERED_SKU, 10)
        order = self._shop.orders.place_order(customer, [(product["id"], ORDERED_QUANTITY)])
        return str(order["id"])

    def cancel(self) -> str:
        """Place an order and cancel it; the order's id."""
        order = self.place()
        self._shop.orders.cancel_order(order)
        return order

    def run(self, cause: str) -> None:
        """The command whose transaction publishes ``cause`` (and its decision)."""
        {CUSTOMER_REGISTERED: self.register, ORDER_PLACED: self.place,
         ORDER_CANCELLED: self.cancel}[cause]()


def notification_event_producers(shop: Shop, outbox: Table) -> dict[str, MessageProducer]:
    """Producers of each causing event and of each decision about one, by pact description."""
    commands = ShopCommands(shop)

    def producing(cause: str, event_type: str) -> MessageProducer:
        def produce(metadata: dict[str, Any] | None = None) -> Message:
            commands.run(cause)
            return newest_event(shop.engine, outbox, event_type)

        return produce

    producers = {describe(cause): producing(cause, cause) for cause in CAUSES}
    producers.update({describe_decision(cause, side): producing(cause, HANDLING_DECIDED)
                      for cause in CAUSES for side in SIDES})
    return producers
