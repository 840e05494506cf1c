"""Settings of the catalog service, read from the environment at the composition root only."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "sqlite:///var/catalog.db"


@dataclass(frozen=True, slots=True)
class CatalogSettings:
    """Everything :func:`extracted.catalog.app.create_app` needs to build the service."""

    database_url: str = DEFAULT_DATABASE_URL
    max_body_bytes: int = 256 * 1024
    service_name: str = "catalog"
    event_source: str = "/shop/catalog"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> CatalogSettings:
        """Read ``CATALOG_DATABASE_URL`` and ``CATALOG_MAX_BODY_BYTES``."""
        env = os.environ if environ is None else environ
        return cls(
            database_url=env.get("CATALOG_DATABASE_URL") or DEFAULT_DATABASE_URL,
            max_body_bytes=int(env.get("CATALOG_MAX_BODY_BYTES") or 256 * 1024),
        )
