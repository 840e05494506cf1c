"""Publishing to a Pact Broker, when ``PACT_BROKER_BASE_URL`` names one.

Offline (the default) the pacts are files in the repository and verification reads them. With
a broker, ``strangler contracts verify`` first publishes those files as this commit's consumer
versions (``pact broker publish``, from pact-python-cli), then verifies what the broker serves
for the same consumers and branch, so the broker records each provider's results
(:meth:`Broker.configure`). Credentials travel in the environment (``PACT_BROKER_TOKEN``, or
``PACT_BROKER_USERNAME`` and ``PACT_BROKER_PASSWORD``), never on a command line.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pact import Verifier


@dataclass(frozen=True, slots=True)
class Broker:
    """Where pacts and verification results are published."""

    url: str
    branch: str
    token: str | None = None
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_env(cls, branch: str | None,
                 environ: Mapping[str, str] | None = None) -> Broker | None:
        """The broker named by ``PACT_BROKER_BASE_URL``, or None when it is unset."""
        env = os.environ if environ is None else environ
        url = env.get("PACT_BROKER_BASE_URL")
        if not url:
            return None
        token, username = env.get("PACT_BROKER_TOKEN"), env.get("PACT_BROKER_USERNAME")
        if token and username:
            raise ValueError("set PACT_BROKER_TOKEN or PACT_BROKER_USERNAME/PASSWORD, not both")
        return cls(url=url.rstrip("/"), branch=env.get("PACT_BROKER_BRANCH") or branch or "main",
                   token=token, username=username, password=env.get("PACT_BROKER_PASSWORD"))

    def publish_command(self, pact_dir: Path, consumer_version: str) -> list[str]:
        """``pact broker publish`` for every pact in ``pact_dir`` (credentials from the
        environment the command runs in)."""
        return [pact_binary(), "broker", "publish", str(pact_dir),
                "--broker-base-url", self.url, "--consumer-app-version", consumer_version,
                "--branch", self.branch]

    def publish_environment(self) -> dict[str, str]:
        """The environment for :meth:`publish_command`: the credentials, nothing else added."""
        credentials = {"PACT_BROKER_TOKEN": self.token, "PACT_BROKER_USERNAME": self.username,
                       "PACT_BROKER_PASSWORD": self.password}
        return {**os.environ, **{k: v for k, v in credentials.items() if v}}

    def configure(self, verifier: Verifier, consumer: str, provider_version: str) -> Verifier:
        """Make ``verifier`` verify ``consumer``'s pact on this branch as the broker serves it,
        and publish the result as ``provider_version``."""
        if self.token:
            source = verifier.broker_source(self.url, token=self.token, selector=True,
                                            use_env=False)
        else:
            source = verifier.broker_source(self.url, username=self.username,
                                            password=self.password, selector=True,
                                            use_env=False)
        source.consumer_version(consumer=consumer, branch=self.branch).build()
        return verifier.set_publish_options(version=provider_version, branch=self.branch)


def pact_binary() -> str:
    """pact-python-cli's ``pact``: next to this interpreter, else on ``PATH``."""
    beside = Path(sys.executable).with_name("pact")
    return str(beside) if beside.exists() else shutil.which("pact") or "pact"
