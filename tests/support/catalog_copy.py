"""The catalog service's database in tests: migrated for real, fed through the real inbox."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from extracted.catalog.projection import CONSUMER, HANDLERS
from extracted.catalog.tables import inbox
from strangler_cli.databases import DATABASES, upgrade
from strangler_messaging import CloudEvent
from strangler_messaging.inbox import Admission, Inbox


def migrated_catalog_url(request: pytest.FixtureRequest, kind: str, tmp_path: Path
                         ) -> Iterator[str]:
    """A catalog database at head: a fresh SQLite file, or a fresh PostgreSQL database."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'catalog.db'}"
    else:
        url = request.getfixturevalue("fresh_postgres_url")
    upgrade(DATABASES["catalog"], url)
    yield url


def apply_events(engine: Engine, events: Iterable[CloudEvent]) -> Admission:
    """Admit ``events`` through the catalog consumer's inbox and apply the fresh ones.

    One transaction, the way the consumer runtime applies a batch (without the broker). Only
    the event types the consumer's queue is bound to reach it.
    """
    bound = [event for event in events if event.type in HANDLERS]
    with Session(engine) as session, session.begin():
        admission = Inbox(inbox, CONSUMER).admit(session, bound)
        for event in admission.fresh:
            HANDLERS[event.type](session, event)
    return admission
