"""The notifications service under verification: its real read API on a fresh SQLite
database.

It serves ``GET /api/notifications`` from its own table. It also publishes
``notifications.notification.recorded.v1``, but no consumer pact names that event, so it has no
message producers here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from sqlalchemy import Engine, delete

from extracted.notifications.app import create_app
from extracted.notifications.recording import ORIGIN
from extracted.notifications.settings import NotificationsSettings
from extracted.notifications.tables import metadata, notifications
from strangler_contracts.provider import RunningProvider
from strangler_contracts.serving import serving
from strangler_contracts.states import StateHandler, notification_states
from strangler_messaging import uuid7
from strangler_messaging.db import make_engine


class ServiceNotifications:
    """The service's own tables as the state handler's store."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def insert(self, row: Mapping[str, Any]) -> None:
        """Store one notification as this service records it: its own, caused by an event of
        its own."""
        with self._engine.begin() as conn:
            conn.execute(notifications.insert().values(
                **row, source_event_id=str(uuid7()), origin=ORIGIN))

    def clear(self) -> None:
        """Empty every table of the service."""
        with self._engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(delete(table))


@contextmanager
def running_notifications() -> Iterator[RunningProvider]:
    """The notifications service's app served on a loopback port."""
    with TemporaryDirectory(prefix="contracts-notifications-") as directory:
        url = f"sqlite:///{Path(directory) / 'notifications.db'}"
        engine = make_engine(url)
        try:
            metadata.create_all(engine)
            store = ServiceNotifications(engine)
            app = create_app(NotificationsSettings(database_url=url), engine=engine)
            with serving(app) as base_url:
                yield RunningProvider(
                    backend="notifications", base_url=base_url,
                    states=notification_states(StateHandler(store.clear), store.insert),
                    producers={})
        finally:
            engine.dispose()
