"""Integration events the customers module publishes (schemas in ``contracts/events/``)."""

from __future__ import annotations

from legacy_monolith.customers.models import Customer
from strangler_messaging import IntegrationEvent

CUSTOMER_REGISTERED = "customers.customer.registered.v1"


def customer_registered(customer: Customer) -> IntegrationEvent:
    """A customer signed up."""
    return IntegrationEvent(CUSTOMER_REGISTERED, "customer", customer.id, customer.version,
                            customer.snapshot())
