"""Write a consumer's pact and check that the committed file says the same.

``STRANGLER_UPDATE_PACTS=1`` (what ``make contracts`` sets) writes the committed file instead:
that is how a deliberate change to a consumer's expectations is made.
"""

from __future__ import annotations

import difflib
import os
import shutil
from pathlib import Path

from pact import Pact

from strangler_contracts.pacts import PACT_DIR

UPDATE_ENV = "STRANGLER_UPDATE_PACTS"


def pact_file_name(pact: Pact) -> str:
    """The name pact-python gives a pact's file."""
    return f"{pact.consumer}-{pact.provider}.json"


def assert_committed_pact_is_current(pact: Pact, scratch: Path, committed_dir: Path = PACT_DIR
                                     ) -> Path:
    """Write ``pact`` into ``scratch`` (overwriting: a merge would keep stale interactions) and
    fail unless ``committed_dir`` holds the same bytes; returns the committed file."""
    pact.write_file(scratch, overwrite=True)
    written = scratch / pact_file_name(pact)
    committed = committed_dir / written.name
    if os.environ.get(UPDATE_ENV) == "1":
        committed_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(written, committed)
        return committed
    assert committed.exists(), (
        f"{committed} is missing: run `make contracts` (or {UPDATE_ENV}=1 pytest "
        "tests/contracts) and commit it")
    if committed.read_bytes() != written.read_bytes():
        diff = difflib.unified_diff(committed.read_text().splitlines(),
                                    written.read_text().splitlines(),
                                    str(committed), "this run", lineterm="", n=2)
        raise AssertionError(
            f"{committed.name} is out of date with its consumer test; run `make contracts` "
            "and commit the result:\n" + "\n".join(list(diff)[:80]))
    return committed
