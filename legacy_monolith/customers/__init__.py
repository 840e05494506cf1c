"""Customers: who buys. Public surface: :mod:`.facade` and :mod:`.events`."""
