"""The committed pact files: what they say, which backends they bind, and their hashes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

PACT_DIR = Path(__file__).resolve().parents[1] / "contracts" / "pacts"
"""Where the consumer tests write the pacts this repository commits."""

HTTP_PROVIDER = "shop-products"
"""The public product API: one contract, two implementations that must not differ."""
NOTIFICATIONS_HTTP_PROVIDER = "shop-notifications"
"""The public notification listing: the monolith's and the notifications service's."""

BACKENDS_BY_PROVIDER: dict[str, tuple[str, ...]] = {
    HTTP_PROVIDER: ("monolith", "catalog"),
    NOTIFICATIONS_HTTP_PROVIDER: ("monolith", "notifications"),
}
"""Pact provider -> the proxy backends that must honour it. A provider not listed here is a
backend of the same name (the event pacts: ``monolith``, ``catalog``)."""

HTTP_INTERACTION = "Synchronous/HTTP"
MESSAGE_INTERACTION = "Asynchronous/Messages"


class PactFileError(ValueError):
    """A file in the pact directory that is not a pact this tool can verify."""


@dataclass(frozen=True, slots=True)
class PactFile:
    """One pact file, read once: its bytes are what gets hashed and verified."""

    path: Path
    content: bytes
    consumer: str
    provider: str
    interactions: tuple[dict[str, Any], ...]

    @classmethod
    def load(cls, path: Path) -> PactFile:
        """Read and check a pact file (V4: consumer, provider, interactions)."""
        content = path.read_bytes()
        try:
            doc = json.loads(content)
            consumer, provider = doc["consumer"]["name"], doc["provider"]["name"]
            interactions = tuple(doc["interactions"])
        except (ValueError, KeyError, TypeError) as exc:
            raise PactFileError(f"{path} is not a pact file: {exc!r}") from exc
        return cls(path, content, consumer, provider, interactions)

    @property
    def name(self) -> str:
        """The file name, ``storefront-shop-products.json``."""
        return self.path.name

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the file's bytes."""
        return hashlib.sha256(self.content).hexdigest()

    @property
    def backends(self) -> tuple[str, ...]:
        """The proxy backends this pact is verified against."""
        return BACKENDS_BY_PROVIDER.get(self.provider, (self.provider,))

    @property
    def has_http(self) -> bool:
        """Whether any interaction is an HTTP request and response."""
        return any(i.get("type") == HTTP_INTERACTION for i in self.interactions)

    @property
    def has_messages(self) -> bool:
        """Whether any interaction is an asynchronous message."""
        return any(i.get("type") == MESSAGE_INTERACTION for i in self.interactions)

    def http_requests(self) -> tuple[tuple[str, str], ...]:
        """``(METHOD, concrete path with query)`` of every HTTP interaction, in file order."""
        return tuple((str(i["request"]["method"]).upper(), _target(i["request"]))
                     for i in self.interactions if i.get("type") == HTTP_INTERACTION)


def _target(request: dict[str, Any]) -> str:
    path = str(request["path"])
    query = request.get("query") or {}
    pairs = [(name, value) for name, values in query.items()
             for value in (values if isinstance(values, list) else [values])]
    return f"{path}?{urlencode(pairs)}" if pairs else path


def load_pacts(directory: Path = PACT_DIR) -> list[PactFile]:
    """Every ``*.json`` pact in ``directory``, by file name; fails if there is none."""
    paths = sorted(directory.glob("*.json"))
    if not paths:
        raise PactFileError(f"no pact files (*.json) in {directory}")
    return [PactFile.load(path) for path in paths]


def combined_hash(pacts: Sequence[PactFile]) -> str:
    """One SHA-256 for the pacts a provider was verified against: of their bytes, in file
    name order (for a single pact, the hash of its file)."""
    digest = hashlib.sha256()
    for pact in sorted(pacts, key=lambda p: p.name):
        digest.update(pact.content)
    return digest.hexdigest()


def requests_of(pacts: Iterable[PactFile]) -> tuple[tuple[str, str], ...]:
    """The HTTP request of every interaction of the pacts, in order (one per interaction:
    three creates are three ``POST /api/products``)."""
    return tuple(r for pact in pacts for r in pact.http_requests())
