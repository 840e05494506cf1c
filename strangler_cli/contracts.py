"""``strangler contracts verify``: verify the committed pacts against the real backends and
record each backend's result for the proxy's contract gate.

Exit codes: 0 every backend passed, 1 a verification failed (or publishing to the broker did),
2 bad usage.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click
from sqlalchemy import Engine

from strangler_cli.databases import DATABASES, require_migrated

if TYPE_CHECKING:
    from strangler_contracts.broker import Broker
    from strangler_contracts.verification import BackendVerification

BACKENDS = ("monolith", "catalog", "notifications")


@click.group()
def contracts() -> None:
    """Consumer-driven contracts (Pact) between the storefront, the monolith and the services."""


@contracts.command("verify")
@click.option("--pact-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="Pacts to verify [default: contracts/pacts of the repository].")
@click.option("--provider", "only", multiple=True, type=click.Choice(BACKENDS),
              help="Verify only this backend (repeatable) [default: every one a pact names].")
@click.option("--record/--no-record", default=True, show_default=True,
              help="Record each backend's result in the proxy database (PROXY_DATABASE_URL), "
                   "where the contract gate reads it.")
def verify(pact_dir: Path | None, only: tuple[str, ...], record: bool) -> None:
    """Verify every pact against the backend(s) that must honour it.

    The product API pact is verified against the monolith and the catalog service, the
    notification API pact against the monolith and the notifications service, the event pacts
    against the backend that publishes the events; each backend runs for real on a fresh
    SQLite database. With PACT_BROKER_BASE_URL set (and PACT_BROKER_TOKEN, or
    PACT_BROKER_USERNAME and PACT_BROKER_PASSWORD), the pacts are first published to that
    broker and the results published back to it.
    """
    os.environ.setdefault("PACT_DO_NOT_TRACK", "true")
    if not logging.getLogger().isEnabledFor(logging.DEBUG):
        # The verifier's report goes to stdout; its INFO log would bury it (-v shows it).
        logging.getLogger("pact").setLevel(logging.WARNING)
    from strangler_contracts.broker import Broker
    from strangler_contracts.pacts import PACT_DIR, PactFileError, load_pacts
    from strangler_contracts.verification import verify_backends
    from strangler_contracts.version import git_branch, provider_version

    engine = _proxy_engine() if record else None
    try:
        pacts = load_pacts(pact_dir or PACT_DIR)
    except PactFileError as exc:
        raise click.ClickException(str(exc)) from exc
    version = provider_version()
    try:
        broker = Broker.from_env(git_branch())
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if broker is not None:
        _publish(broker, pact_dir or PACT_DIR, version)
    results = verify_backends(pacts, provider_version=version, only=only, broker=broker)
    _print_summary(results, version)
    if engine is not None:
        _record(engine, results, version)
        engine.dispose()
    if not results or not all(result.passed for result in results):
        raise SystemExit(1)


def _proxy_engine() -> Engine:
    from strangler_messaging.db import make_engine

    engine = make_engine(DATABASES["proxy"].url())
    require_migrated(DATABASES["proxy"], engine)
    return engine


def _publish(broker: Broker, pact_dir: Path, version: str) -> None:
    command = broker.publish_command(pact_dir, version)
    click.echo(f"publishing pacts to {broker.url} as {version} (branch {broker.branch})")
    result = subprocess.run(command, env=broker.publish_environment(), capture_output=True,
                            text=True, timeout=300, check=False)
    if result.returncode != 0:
        raise click.ClickException(f"`pact broker publish` failed ({result.returncode}):\n"
                                   f"{result.stdout}{result.stderr}".rstrip())


def _print_summary(results: Sequence[BackendVerification], version: str) -> None:
    click.echo("")
    click.echo(f"contract verification, provider version {version}:")
    backend_width = max([9, *(len(result.backend) for result in results)])
    pact_width = max([34, *(len(run.pact.name) for result in results for run in result.runs)])
    for result in results:
        verdict = "passed" if result.passed else "FAILED"
        click.echo(f"  {result.backend:<{backend_width}} {verdict}  "
                   f"(pacts {result.pact_hash[:12]})")
        for run in result.runs:
            ok = sum(1 for _, passed in run.interactions if passed)
            state = "passed" if run.passed else "FAILED"
            click.echo(f"    {run.pact.name:<{pact_width}} {state}  "
                       f"{ok}/{len(run.interactions)} interactions")
            for description, passed in run.interactions:
                if not passed:
                    click.echo(f"      failed: {description}")
            for problem in run.problems:
                click.echo(f"      ! {problem}")


def _record(engine: Engine, results: Sequence[BackendVerification], version: str) -> None:
    from strangler_proxy.gate import VerificationStore

    store = VerificationStore(engine)
    for result in results:
        saved = store.record(result.backend, version, result.pact_hash, result.passed,
                             result.requests)
        click.echo(f"  recorded verification #{saved.id} of {result.backend} "
                   f"({'passed' if saved.passed else 'failed'}, "
                   f"{len(saved.requests)} requests) for the contract gate")
