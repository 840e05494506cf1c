"""Consumer ``storefront`` of provider ``shop-notifications``: the real client against the
pact's mock server, and the committed pact file kept equal to what these tests declare."""

from __future__ import annotations

from pathlib import Path

import pytest
from pact import Pact

from storefront import Storefront
from strangler_contracts.pacts import NOTIFICATIONS_HTTP_PROVIDER
from tests.contracts.notification_interactions import CASES
from tests.contracts.pact_files import assert_committed_pact_is_current
from tests.contracts.storefront_interactions import Case


def _pact() -> Pact:
    return Pact("storefront", NOTIFICATIONS_HTTP_PROVIDER).with_specification("V4")


@pytest.mark.parametrize("case", CASES, ids=[c.description for c in CASES])
def test_the_client_makes_exactly_the_declared_request(case: Case) -> None:
    pact = _pact()
    case.declare(pact, case.description)
    with pact.serve(addr="127.0.0.1") as server, Storefront(str(server.url)) as shop:
        case.exercise(shop)
    # Leaving the block fails the test if the request did not match or never came.


def test_the_committed_pact_declares_every_case(tmp_path: Path) -> None:
    pact = _pact()
    for case in CASES:
        case.declare(pact, case.description)
    committed = assert_committed_pact_is_current(pact, tmp_path)
    assert committed.name == "storefront-shop-notifications.json"
