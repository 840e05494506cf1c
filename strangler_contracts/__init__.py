"""Provider verification of the committed pacts, against the real backends.

A composition root, like the CLI: it runs the monolith, the catalog service and the
notifications service for real (each on a fresh SQLite database, served on a loopback port),
sets their provider states in their own tables, produces their events through their own write
paths and outboxes, and verifies every pact in ``contracts/pacts/`` against the backend(s) that
must honour it with pact-python's verifier. ``strangler contracts verify`` records the results
where the proxy's contract gate reads them.

- :mod:`.pacts` -- the pact files, their hashes and the requests they make;
- :mod:`.verification` -- :func:`verify_backends`, one result per backend;
- :mod:`.monolith`, :mod:`.catalog`, :mod:`.notifications` -- each backend under
  verification;
- :mod:`.provider`, :mod:`.notification_events` -- how each backend's events are produced;
- :mod:`.states` -- what the provider states mean, the same for every backend;
- :mod:`.broker` -- publishing to a Pact Broker when one is configured;
- :mod:`.version` -- the provider version recorded.
"""

from strangler_contracts.pacts import PACT_DIR, PactFile, load_pacts
from strangler_contracts.verification import BackendVerification, PactRun, verify_backends

__all__ = ["PACT_DIR", "BackendVerification", "PactFile", "PactRun", "load_pacts",
           "verify_backends"]
