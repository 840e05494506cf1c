"""Publishing to a Pact Broker: the commands and verifier options, built without a broker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from strangler_contracts.broker import Broker

ENV = {"PACT_BROKER_BASE_URL": "https://broker.example/", "PACT_BROKER_TOKEN": "s3cret"}


def test_no_broker_without_a_base_url() -> None:
    assert Broker.from_env("main", {}) is None


def test_the_broker_comes_from_the_environment() -> None:
    broker = Broker.from_env("feature/x", ENV)
    assert broker == Broker(url="https://broker.example", branch="feature/x", token="s3cret")
    assert Broker.from_env(None, {**ENV, "PACT_BROKER_BRANCH": "release"}).branch == "release"
    assert Broker.from_env(None, ENV).branch == "main"


def test_a_token_and_a_username_together_are_refused() -> None:
    with pytest.raises(ValueError, match="not both"):
        Broker.from_env("main", {**ENV, "PACT_BROKER_USERNAME": "ci"})


def test_publishing_names_the_pacts_version_and_branch_and_keeps_secrets_off_argv() -> None:
    broker = Broker.from_env("main", ENV)
    assert broker is not None
    command = broker.publish_command(Path("/repo/contracts/pacts"), "1a2b3c4-dirty")
    assert Path(command[0]).name == "pact"
    assert command[1:] == ["broker", "publish", "/repo/contracts/pacts",
                           "--broker-base-url", "https://broker.example",
                           "--consumer-app-version", "1a2b3c4-dirty", "--branch", "main"]
    assert "s3cret" not in " ".join(command)
    assert broker.publish_environment()["PACT_BROKER_TOKEN"] == "s3cret"


class RecordingVerifier:
    """Stands in for pact's Verifier and its selector builder; records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        def record(*args: Any, **kwargs: Any) -> RecordingVerifier:
            self.calls.append((name, args, kwargs))
            return self

        return record


def test_verification_reads_the_pact_from_the_broker_and_publishes_the_result() -> None:
    broker = Broker(url="https://broker.example", branch="main", username="ci", password="pw")
    verifier = RecordingVerifier()
    broker.configure(verifier, "storefront", "1a2b3c4+catalog")  # type: ignore[arg-type]
    assert verifier.calls == [
        ("broker_source", ("https://broker.example",),
         {"username": "ci", "password": "pw", "selector": True, "use_env": False}),
        ("consumer_version", (), {"consumer": "storefront", "branch": "main"}),
        ("build", (), {}),
        ("set_publish_options", (), {"version": "1a2b3c4+catalog", "branch": "main"}),
    ]
