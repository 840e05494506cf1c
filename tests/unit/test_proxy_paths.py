"""Request targets: forwarded byte for byte, or refused -- never reinterpreted."""

from __future__ import annotations

import pytest

from strangler_proxy.paths import BadTarget, split_target


@pytest.mark.parametrize("target", [
    b"/api/products", b"/api/products/", b"/api/products?q=a%20b&page=2",
    b"/api/products/01a2-ff?x=/y?z", b"/api/products/caf%C3%A9", b"/api/a:b@c",
])
def test_ordinary_targets_pass_unchanged(target: bytes) -> None:
    path, forwarded = split_target(target)
    assert forwarded == target
    assert path == target.split(b"?")[0].decode()


@pytest.mark.parametrize("target", [
    b"/api/products%2F1", b"/api/products%2f1", b"/api/%5Cadmin", b"/api/%70roducts",
    b"/api/%2e%2e/admin", b"/api/../admin", b"/api/./products", b"/api//products",
    b"/api/products/%zz", b"/api/products/%4", b"/api/pro ducts", b"/api/\\admin",
    b"http://evil.test/api/products", b"*", b"api/products", b"/api/products#frag",
    b"/api/%00", b"/" + b"a" * 9000, b"/api/products?q=a b",
])
def test_targets_whose_meaning_depends_on_normalisation_are_refused(target: bytes) -> None:
    with pytest.raises(BadTarget):
        split_target(target)
