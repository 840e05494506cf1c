"""Consumer ``monolith`` of the catalog service's product events (reverse sync, after the
write cutover): the monolith's real sync handlers apply each message to a real monolith
database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pact import Pact
from sqlalchemy import Engine

from legacy_monolith.catalog.sync import HANDLERS
from legacy_monolith.schema import metadata
from strangler_contracts.monolith import PRODUCTS
from strangler_messaging.db import make_engine
from tests.contracts.pact_files import assert_committed_pact_is_current
from tests.contracts.product_events import CATALOG, DECLARATIONS, applying


def _pact() -> Pact:
    return Pact("monolith", CATALOG.provider).with_specification("V4")


@pytest.fixture
def monolith_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'monolith.db'}")
    metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("event_type", DECLARATIONS)
def test_the_monolith_sync_applies_the_event(event_type: str, monolith_engine: Engine) -> None:
    pact = _pact()
    DECLARATIONS[event_type](pact, CATALOG)
    pact.verify(applying(HANDLERS, monolith_engine, PRODUCTS), "Async")


def test_the_committed_pact_declares_every_event(tmp_path: Path) -> None:
    pact = _pact()
    for declare in DECLARATIONS.values():
        declare(pact, CATALOG)
    assert assert_committed_pact_is_current(pact, tmp_path).name == "monolith-catalog.json"
