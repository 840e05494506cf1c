"""Notifications: what the Shop tells customers. Public surface: :mod:`.facade`, :mod:`.events`.

It imports no other module: it reacts to integration events (customer registered, order placed,
order cancelled) and keeps its own copy of what it needs (recipients). That makes it the
event-driven archetype of extraction (``extracted/notifications``).
"""
