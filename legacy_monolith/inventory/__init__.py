"""Inventory: how many of each SKU are on hand. Public surface: :mod:`.facade`, :mod:`.events`."""
