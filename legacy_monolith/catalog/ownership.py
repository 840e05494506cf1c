"""Who may write products: the monolith until the write cutover, the catalog service after.

The row lives in the monolith's own database (``write_ownership``) and is changed only by
``strangler ownership move catalog``. Every product write checks it first, in its own
transaction, so a write that reaches the monolith after the hand-over is refused, not lost.
"""

from __future__ import annotations

from legacy_monolith.platform.database import write_ownership
from strangler_messaging.ownership import WriteOwnership

CONTEXT = "catalog"
ME = "monolith"


def catalog_write_ownership() -> WriteOwnership:
    """The catalog context's ownership row, seen from the monolith (the default owner)."""
    return WriteOwnership(write_ownership, CONTEXT, me=ME, default_owner=ME)
