"""Consumer ``catalog`` of the monolith's product events: the service's real projection
applies each message to a real catalog database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pact import Pact
from sqlalchemy import Engine

from extracted.catalog.projection import HANDLERS
from extracted.catalog.tables import metadata, products
from strangler_messaging.db import make_engine
from tests.contracts.pact_files import assert_committed_pact_is_current
from tests.contracts.product_events import DECLARATIONS, MONOLITH, applying


def _pact() -> Pact:
    return Pact("catalog", MONOLITH.provider).with_specification("V4")


@pytest.fixture
def catalog_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'catalog.db'}")
    metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("event_type", DECLARATIONS)
def test_the_catalog_projection_applies_the_event(event_type: str,
                                                  catalog_engine: Engine) -> None:
    pact = _pact()
    DECLARATIONS[event_type](pact, MONOLITH)
    pact.verify(applying(HANDLERS, catalog_engine, products), "Async")


def test_the_committed_pact_declares_every_event(tmp_path: Path) -> None:
    pact = _pact()
    for declare in DECLARATIONS.values():
        declare(pact, MONOLITH)
    assert assert_committed_pact_is_current(pact, tmp_path).name == "catalog-monolith.json"
