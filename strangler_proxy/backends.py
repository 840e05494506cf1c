"""The backends the proxy knows: the legacy monolith and the extracted services.

The set of names is fixed (routes refer to them); only their URLs vary, each read from
``STRANGLER_<NAME>_URL`` with a loopback default on the component's default port.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from strangler_proxy.routes import LEGACY_BACKEND

DEFAULT_URLS: Mapping[str, str] = {
    LEGACY_BACKEND: "http://127.0.0.1:8010",
    "catalog": "http://127.0.0.1:8020",
    "notifications": "http://127.0.0.1:8030",
}
"""Every known backend, legacy first, with its default URL."""

KNOWN_BACKENDS = tuple(DEFAULT_URLS)


class BackendError(ValueError):
    """A backend URL the proxy cannot forward to."""


@dataclass(frozen=True, slots=True)
class Backend:
    """One upstream the proxy forwards to: a name routes refer to and a base URL."""

    name: str
    url: str

    @property
    def health_url(self) -> str:
        """Where the backend answers whether it is alive."""
        return f"{self.url}/healthz"


def env_var(name: str) -> str:
    """The environment variable holding the URL of backend ``name``."""
    return f"STRANGLER_{name.upper()}_URL"


def backends_from_env(environ: Mapping[str, str]) -> dict[str, Backend]:
    """Every known backend, legacy first, with its URL from ``environ`` or the default.

    An empty variable counts as unset. Raises :class:`BackendError` naming the variable when a
    URL is not an absolute ``http`` URL without query, fragment or credentials.
    """
    backends: dict[str, Backend] = {}
    for name, default in DEFAULT_URLS.items():
        variable = env_var(name)
        raw = environ.get(variable) or default
        backends[name] = Backend(name, _checked_url(variable, raw))
    return backends


def _checked_url(variable: str, raw: str) -> str:
    url = raw.strip().rstrip("/")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a malformed port
    except ValueError as exc:
        raise BackendError(f"{variable}={raw!r} is not a URL: {exc}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BackendError(f"{variable}={raw!r} must be an absolute http:// or https:// URL")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise BackendError(f"{variable}={raw!r} must have no query, fragment or credentials")
    if port == 0:
        raise BackendError(f"{variable}={raw!r} has port 0")
    return url
