"""The customers module's public commands and queries (JSON-ready results)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from legacy_monolith.customers import events
from legacy_monolith.customers.models import Customer, normalize_email
from legacy_monolith.platform.errors import Conflict, NotFound
from legacy_monolith.platform.unit_of_work import UnitOfWorkFactory


class CustomersFacade:
    """Register and look up customers."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def register(self, *, email: str, name: str) -> dict[str, Any]:
        """Register a customer; :class:`Conflict` (``email_taken``) if the email is in use."""
        with self._uow() as uow:
            taken = uow.session.scalar(
                select(Customer.id).where(Customer.email == normalize_email(email)))
            if taken is not None:
                raise Conflict(f"{email} is already registered", code="email_taken")
            customer = Customer.register(email=email, name=name)
            uow.session.add(customer)
            uow.session.flush()
            uow.publish(events.customer_registered(customer))
            uow.commit()
            return customer.snapshot()

    def get(self, customer_id: str) -> dict[str, Any]:
        """One customer; :class:`NotFound` if there is none."""
        with self._uow.read() as session:
            customer = session.get(Customer, customer_id)
            if customer is None:
                raise NotFound(f"customer {customer_id} does not exist",
                               code="customer_not_found")
            return customer.snapshot()

    def exists(self, customer_id: str) -> bool:
        """Whether the customer is registered."""
        with self._uow.read() as session:
            return session.get(Customer, customer_id) is not None
