"""Contract tests: consumer pacts written and checked against the committed files, and the
providers verified against those committed files (so no test depends on another's order)."""

from __future__ import annotations

import os

# pact-python reports usage unless told not to; these tests must not reach the network.
os.environ.setdefault("PACT_DO_NOT_TRACK", "true")
