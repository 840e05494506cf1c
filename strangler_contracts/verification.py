"""Verify pacts against the backends that must honour them, one verifier per pact and backend.

An HTTP pact is verified against the monolith and the extracted service that answers the same
routes (products: the catalog service; notifications: the notifications service) in turn, each
running for real on a database of its own; an event pact against the backend that produces
those events. A backend's result combines every pact it was verified against: that is what the
proxy's contract gate reads (one newest verification per backend).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from pact import Verifier

from strangler_contracts.broker import Broker
from strangler_contracts.pacts import PactFile, combined_hash, requests_of
from strangler_contracts.provider import RunningProvider
from strangler_contracts.serving import HOST

log = logging.getLogger(__name__)

Harness = Callable[[], AbstractContextManager[RunningProvider]]


def harnesses() -> dict[str, Harness]:
    """How to run each backend (imported on demand: the monolith is heavy to import)."""
    from strangler_contracts.catalog import running_catalog
    from strangler_contracts.monolith import running_monolith
    from strangler_contracts.notifications import running_notifications

    return {"monolith": running_monolith, "catalog": running_catalog,
            "notifications": running_notifications}


@dataclass(frozen=True, slots=True)
class PactRun:
    """One pact verified against one backend."""

    pact: PactFile
    backend: str
    passed: bool
    interactions: tuple[tuple[str, bool], ...] = ()
    """(description, passed) for each interaction the verifier reported."""
    output: str = ""
    problems: tuple[str, ...] = ()
    """What went wrong outside the comparison: state set-up, the backend failing to start."""

    @property
    def report(self) -> str:
        """The verifier's own report (its output), plus any problems; for failures."""
        lines = [f"  ! {problem}" for problem in self.problems]
        return "\n".join([*lines, self.output.strip()]).strip()


@dataclass(frozen=True, slots=True)
class BackendVerification:
    """Every pact a backend was verified against, as one result for the contract gate."""

    backend: str
    runs: tuple[PactRun, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        """Whether every pact passed (and there was at least one)."""
        return bool(self.runs) and all(run.passed for run in self.runs)

    @property
    def pacts(self) -> tuple[PactFile, ...]:
        """The pacts verified."""
        return tuple(run.pact for run in self.runs)

    @property
    def pact_hash(self) -> str:
        """SHA-256 of the verified pacts' bytes."""
        return combined_hash(self.pacts)

    @property
    def requests(self) -> tuple[tuple[str, str], ...]:
        """``(METHOD, concrete path)`` of each verified HTTP interaction."""
        return requests_of(self.pacts)


def pacts_by_backend(pacts: Sequence[PactFile],
                     only: Sequence[str] = ()) -> dict[str, list[PactFile]]:
    """Which pacts each backend must pass, backends in first-mention order."""
    grouped: dict[str, list[PactFile]] = {}
    for pact in pacts:
        for backend in pact.backends:
            if not only or backend in only:
                grouped.setdefault(backend, []).append(pact)
    return grouped


def verify_backends(pacts: Sequence[PactFile], *, provider_version: str,
                    only: Sequence[str] = (), broker: Broker | None = None,
                    running: dict[str, Harness] | None = None) -> list[BackendVerification]:
    """Run every backend the pacts name (or ``only`` those) and verify its pacts.

    Sets ``PACT_DO_NOT_TRACK=true`` unless the environment says otherwise: verification must
    not call home.
    """
    os.environ.setdefault("PACT_DO_NOT_TRACK", "true")
    running = running or harnesses()
    results = []
    for backend, backend_pacts in pacts_by_backend(pacts, only).items():
        harness = running.get(backend)
        if harness is None:
            runs = [_failed(p, backend, f"no way to run backend {backend!r}")
                    for p in backend_pacts]
        else:
            runs = list(_verify_each(harness, backend, backend_pacts, provider_version, broker))
        results.append(BackendVerification(backend, tuple(runs)))
    return results


def _verify_each(harness: Harness, backend: str, pacts: Sequence[PactFile], version: str,
                 broker: Broker | None) -> Iterator[PactRun]:
    try:
        with harness() as provider:
            # Collected inside the block: the backend must stay up for every pact.
            runs = [_verify_or_fail(pact, provider, version, broker) for pact in pacts]
    except Exception as exc:
        log.exception("backend %s could not be run", backend)
        yield from (_failed(p, backend, f"backend {backend} could not be run: "
                                        f"{type(exc).__name__}: {exc}") for p in pacts)
        return
    yield from runs


def _verify_or_fail(pact: PactFile, provider: RunningProvider, version: str,
                    broker: Broker | None) -> PactRun:
    try:
        return verify_pact(pact, provider, version, broker)
    except Exception as exc:  # one pact that cannot be verified fails alone
        log.exception("verifying %s on %s crashed", pact.name, provider.backend)
        return _failed(pact, provider.backend,
                       f"verifying {pact.name} crashed: {type(exc).__name__}: {exc}")


def verify_pact(pact: PactFile, provider: RunningProvider, version: str,
                broker: Broker | None = None) -> PactRun:
    """Verify one pact against one running backend; never raises for a failed comparison."""
    verifier = Verifier(pact.provider, host=HOST)
    if broker is None:
        verifier.add_source(pact.path)
    else:
        publish_as = version if len(pact.backends) == 1 else f"{version}+{provider.backend}"
        broker.configure(verifier, pact.consumer, publish_as)
    if pact.has_http:
        verifier.add_transport(url=provider.base_url)
    if pact.has_messages:
        verifier.message_handler(dict(provider.producers))
    verifier.state_handler(provider.states, teardown=True)
    verifier.set_error_on_empty_pact(enabled=True).set_coloured_output(enabled=False)
    problems_before = len(provider.states.problems)
    try:
        verifier.verify()
    except RuntimeError as exc:  # vague by design; the report is in results and output
        log.debug("verifier for %s on %s: %s", pact.name, provider.backend, exc)
    results = verifier.results
    problems = tuple(provider.states.problems[problems_before:])
    return PactRun(pact, provider.backend, passed=bool(results.get("result")),
                   interactions=_interaction_results(results),
                   output=verifier.output(strip_ansi=True), problems=problems)


def _interaction_results(results: dict[str, Any]) -> tuple[tuple[str, bool], ...]:
    return tuple((str(r.get("description")), r.get("result") == "OK")
                 for r in results.get("interactionResults") or ())


def _failed(pact: PactFile, backend: str, problem: str) -> PactRun:
    return PactRun(pact, backend, passed=False, problems=(problem,))
