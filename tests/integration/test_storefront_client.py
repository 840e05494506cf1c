"""The storefront client against the real backends on real sockets: the monolith, and the
catalog service once it owns the writes -- the client cannot tell them apart."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from extracted.catalog.app import create_app as create_catalog_app
from extracted.catalog.settings import CatalogSettings
from extracted.catalog.tables import metadata as catalog_metadata
from extracted.catalog.writes import claim_writes
from legacy_monolith.app import build_shop
from legacy_monolith.app import create_app as create_monolith_app
from legacy_monolith.platform.settings import Settings
from legacy_monolith.schema import metadata as monolith_metadata
from storefront import Storefront, StorefrontError, StorefrontUnavailable
from strangler_messaging.db import make_engine
from tests.support.processes import free_port
from tests.support.proxy_admin import serving


@pytest.fixture(params=["monolith", "catalog"])
def base_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A backend serving the product API on a fresh SQLite database."""
    url = f"sqlite:///{tmp_path / f'{request.param}.db'}"
    engine = make_engine(url)
    if request.param == "monolith":
        monolith_metadata.create_all(engine)
        settings = Settings(database_url=url)
        app = create_monolith_app(settings, shop=build_shop(settings, engine=engine))
    else:
        catalog_metadata.create_all(engine)
        claim_writes(engine)
        app = create_catalog_app(CatalogSettings(database_url=url), engine=engine)
    with serving(app) as address:
        yield address
    engine.dispose()


@pytest.fixture
def shop(base_url: str) -> Iterator[Storefront]:
    with Storefront(base_url, timeout=5.0, headers={"X-Request-ID": "storefront-test"}) as client:
        yield client


def _mug(shop: Storefront, sku: str = "MUG-001", name: str = "Blue Mug") -> str:
    return shop.create_product(sku=sku, name=name, price_cents=1250, currency="EUR").id


def test_a_product_goes_through_its_whole_life(shop: Storefront) -> None:
    created = shop.create_product(sku="MUG-001", name="Blue Mug", description="Holds tea",
                                  price_cents=1250, currency="EUR")
    assert shop.get_product(created.id) == created
    replaced = shop.replace_product(created.id, sku="MUG-002", name="Red Mug", description="",
                                    price_cents=1300, currency="EUR", active=False)
    assert (replaced.sku, replaced.name, replaced.active) == ("MUG-002", "Red Mug", False)
    assert replaced.updated_at >= created.updated_at and replaced.created_at == created.created_at
    patched = shop.patch_product(created.id, price_cents=999)
    assert (patched.price_cents, patched.sku) == (999, "MUG-002")
    shop.delete_product(created.id)
    with pytest.raises(StorefrontError) as caught:
        shop.get_product(created.id)
    assert (caught.value.status, caught.value.code) == (404, "product_not_found")
    assert caught.value.request_id == "storefront-test"


def test_pages_and_search(shop: Storefront) -> None:
    for n, name in enumerate(["Blue Mug", "Teapot", "mug tree"]):
        _mug(shop, sku=f"SKU-{n}", name=name)
    first = shop.list_products(per_page=2)
    assert [p.name for p in first.items] == ["Blue Mug", "Teapot"] and first.has_next
    second = shop.list_products(page=2, per_page=2)
    assert [p.name for p in second.items] == ["mug tree"] and not second.has_next
    assert [p.name for p in shop.list_products(q="MUG").items] == ["Blue Mug", "mug tree"]


def test_the_apis_errors_arrive_with_their_codes(shop: Storefront) -> None:
    _mug(shop)
    with pytest.raises(StorefrontError) as taken:
        _mug(shop)
    assert (taken.value.status, taken.value.code) == (409, "sku_taken")
    with pytest.raises(StorefrontError) as invalid:
        shop.create_product(sku="X-1", name="X", price_cents=-1, currency="euro")
    assert (invalid.value.status, invalid.value.code) == (422, "validation_error")
    assert sorted(d.field for d in invalid.value.details) == ["currency", "price_cents"]
    with pytest.raises(StorefrontError) as query:
        shop.list_products(per_page=101)
    assert (query.value.status, query.value.code) == (400, "invalid_query")


def test_one_client_serves_many_threads(shop: Storefront) -> None:
    errors: list[BaseException] = []

    def create(n: int) -> None:
        try:
            for k in range(5):
                product = shop.create_product(sku=f"T{n}-{k}", name=f"Thread {n} item {k}",
                                              price_cents=100 + k, currency="EUR")
                assert shop.get_product(product.id).sku == f"T{n}-{k}"
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors[0]
    assert shop.list_products(per_page=100).total == 30


def test_no_server_is_unavailable_not_a_crash() -> None:
    with Storefront(f"http://127.0.0.1:{free_port()}", timeout=2.0) as shop, pytest.raises(
            StorefrontUnavailable) as caught:
        shop.list_products()
    assert caught.value.status == 0 and "ConnectError" in caught.value.message
