"""Consumer ``notifications`` of the monolith's causing events and decisions: the service's
real recording handlers apply each message to a real notifications database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pact import Pact

from extracted.notifications.tables import metadata
from strangler_messaging.db import make_engine
from tests.contracts.notification_messages import DECLARATIONS
from tests.contracts.notification_recording import NotificationsDatabase, receiving
from tests.contracts.pact_files import assert_committed_pact_is_current
from tests.contracts.product_events import MONOLITH


def _pact() -> Pact:
    return Pact("notifications", MONOLITH.provider).with_specification("V4")


@pytest.fixture
def database(tmp_path: Path) -> Iterator[NotificationsDatabase]:
    engine = make_engine(f"sqlite:///{tmp_path / 'notifications.db'}")
    metadata.create_all(engine)
    yield NotificationsDatabase(engine)
    engine.dispose()


@pytest.mark.parametrize("description", DECLARATIONS)
def test_the_service_records_what_the_message_calls_for(description: str,
                                                        database: NotificationsDatabase) -> None:
    pact = _pact()
    DECLARATIONS[description](pact)
    pact.verify(receiving(database), "Async")


def test_the_committed_pact_declares_every_message(tmp_path: Path) -> None:
    pact = _pact()
    for declare in DECLARATIONS.values():
        declare(pact)
    committed = assert_committed_pact_is_current(pact, tmp_path)
    assert committed.name == "notifications-monolith.json"
