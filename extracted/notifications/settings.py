"""Settings of the notifications service, read from the environment at composition roots only."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "sqlite:///var/notifications.db"


@dataclass(frozen=True, slots=True)
class NotificationsSettings:
    """What the service's app and consumer need."""

    database_url: str = DEFAULT_DATABASE_URL
    max_body_bytes: int = 64 * 1024
    service_name: str = "notifications"
    event_source: str = "/shop/notifications"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> NotificationsSettings:
        """Read ``NOTIFICATIONS_DATABASE_URL``."""
        env = os.environ if environ is None else environ
        return cls(database_url=env.get("NOTIFICATIONS_DATABASE_URL") or DEFAULT_DATABASE_URL)
