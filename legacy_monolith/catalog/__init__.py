"""Catalog: products, their prices and whether they are for sale.

Public surface: :mod:`.facade` (commands and queries) and :mod:`.events` (integration events).
This is the first module the migration extracts (``extracted/catalog``).
"""
