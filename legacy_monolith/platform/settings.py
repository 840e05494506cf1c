"""Settings of the monolith, read from the environment at the composition root only."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "sqlite:///var/monolith.db"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything :func:`legacy_monolith.app.create_app` needs to build the Shop."""

    database_url: str = DEFAULT_DATABASE_URL
    max_body_bytes: int = 256 * 1024
    service_name: str = "monolith"
    event_source: str = "/shop/monolith"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``MONOLITH_DATABASE_URL`` and ``MONOLITH_MAX_BODY_BYTES``."""
        env = os.environ if environ is None else environ
        return cls(
            database_url=env.get("MONOLITH_DATABASE_URL") or DEFAULT_DATABASE_URL,
            max_body_bytes=int(env.get("MONOLITH_MAX_BODY_BYTES") or 256 * 1024),
        )
