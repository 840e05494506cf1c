"""The backends the proxy knows and where their URLs come from: pure logic."""

from __future__ import annotations

import pytest

from strangler_proxy.backends import KNOWN_BACKENDS, Backend, BackendError, backends_from_env
from strangler_proxy.matching import RouteTable
from strangler_proxy.routes import Mode, Route


def test_defaults_are_the_components_default_ports_on_loopback() -> None:
    backends = backends_from_env({})
    assert list(backends) == ["monolith", "catalog", "notifications"]
    assert backends["monolith"] == Backend("monolith", "http://127.0.0.1:8010")
    assert backends["catalog"].url == "http://127.0.0.1:8020"
    assert backends["notifications"].url == "http://127.0.0.1:8030"


def test_each_url_comes_from_its_own_variable() -> None:
    backends = backends_from_env({"STRANGLER_CATALOG_URL": "http://catalog.internal:9000/",
                                  "STRANGLER_MONOLITH_URL": "",
                                  "STRANGLER_NOTIFICATIONS_URL": "https://notify:8443"})
    assert backends["catalog"].url == "http://catalog.internal:9000"  # trailing / dropped
    assert backends["catalog"].health_url == "http://catalog.internal:9000/healthz"
    assert backends["monolith"].url == "http://127.0.0.1:8010"  # empty counts as unset
    assert backends["notifications"].url == "https://notify:8443"


@pytest.mark.parametrize(("value", "message"), [
    ("ftp://catalog:21", "absolute http"),
    ("catalog:8020", "absolute http"),
    ("http://", "absolute http"),
    ("http://catalog:99999", "not a URL"),
    ("http://catalog:0", "port 0"),
    ("http://user:secret@catalog:8020", "no query, fragment or credentials"),
    ("http://catalog:8020/?debug=1", "no query, fragment or credentials"),
])
def test_a_bad_url_is_refused_naming_its_variable(value: str, message: str) -> None:
    with pytest.raises(BackendError, match=message) as failure:
        backends_from_env({"STRANGLER_CATALOG_URL": value})
    assert "STRANGLER_CATALOG_URL" in str(failure.value)


def test_routes_may_name_every_known_backend_and_no_other() -> None:
    names = backends_from_env({})
    assert tuple(names) == KNOWN_BACKENDS
    for service in ("catalog", "notifications"):
        RouteTable([Route("r", frozenset({"GET"}), "/api/x", Mode.SHADOW, service)], names)
    with pytest.raises(ValueError, match="unknown backend 'billing'"):
        RouteTable([Route("r", frozenset({"GET"}), "/api/x", Mode.SHADOW, "billing")], names)
