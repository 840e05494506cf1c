"""The monolith's complete schema: every module's tables and the outbox, on one metadata.

Alembic (``migrations/monolith``) and tests import this; the application does not need to.
"""

from legacy_monolith.catalog import models as _catalog  # noqa: F401
from legacy_monolith.customers import models as _customers  # noqa: F401
from legacy_monolith.inventory import models as _inventory  # noqa: F401
from legacy_monolith.notifications import models as _notifications  # noqa: F401
from legacy_monolith.orders import models as _orders  # noqa: F401
from legacy_monolith.platform.database import metadata, outbox

__all__ = ["metadata", "outbox"]
