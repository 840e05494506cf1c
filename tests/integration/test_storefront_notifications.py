"""The storefront client's notification listing against the real backends on real sockets: the
monolith, which records them, and the notifications service, which lists its copies of the
monolith's recordings -- the client reads the same pages from both."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from extracted.notifications.app import create_app as create_notifications_app
from extracted.notifications.recording import Recorder
from extracted.notifications.settings import NotificationsSettings
from extracted.notifications.tables import metadata as notifications_metadata
from legacy_monolith.app import Shop, build_shop
from legacy_monolith.app import create_app as create_monolith_app
from legacy_monolith.platform.settings import Settings
from legacy_monolith.schema import metadata as monolith_metadata
from storefront import Storefront, StorefrontError
from strangler_messaging.db import make_engine
from tests.conftest import outbox_events
from tests.support.proxy_admin import serving


@dataclass(frozen=True)
class Seeded:
    """The monolith after its notifications were recorded, and whose they are."""

    shop: Shop
    ann: str


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[Seeded]:
    """The monolith on a fresh SQLite database, with Ann registered, one order placed and
    cancelled, and Bob registered: four notifications, three of them Ann's."""
    url = f"sqlite:///{tmp_path / 'monolith.db'}"
    engine = make_engine(url)
    monolith_metadata.create_all(engine)
    wired = build_shop(Settings(database_url=url), engine=engine)
    ann = wired.customers.register(email="Ann@Example.com", name="Ann")
    wired.customers.register(email="bob@example.com", name="Bob")
    apple = wired.catalog.create_product({"sku": "APL-1", "name": "Apple", "description": "",
                                          "price_cents": 250, "currency": "EUR",
                                          "active": True})
    wired.inventory.set_stock("APL-1", 5)
    order = wired.orders.place_order(ann["id"], [(apple["id"], 2)])
    wired.orders.cancel_order(order["id"])
    yield Seeded(wired, ann["id"])
    engine.dispose()


def _service_copying(shop: Shop, directory: Path) -> tuple[Engine, object]:
    """The notifications service's database after consuming the monolith's events (before the
    switch-over it keeps copies of what the monolith recorded), and its app."""
    url = f"sqlite:///{directory / 'notifications.db'}"
    engine = make_engine(url)
    notifications_metadata.create_all(engine)
    handlers = Recorder(lambda ids: None).handlers()
    with Session(engine) as session, session.begin():
        for event in outbox_events(shop):
            if event.type in handlers:
                handlers[event.type](session, event)
    return engine, create_notifications_app(NotificationsSettings(database_url=url),
                                            engine=engine)


@pytest.fixture(params=["monolith", "notifications"])
def storefront(request: pytest.FixtureRequest, seeded: Seeded, tmp_path: Path
               ) -> Iterator[Storefront]:
    """The client of one backend's ``/api/notifications``."""
    engine: Engine | None = None
    if request.param == "monolith":
        app: object = create_monolith_app(Settings(database_url="sqlite://"),
                                          shop=seeded.shop)
    else:
        engine, app = _service_copying(seeded.shop, tmp_path)
    with serving(app) as address, Storefront(
            address, timeout=5.0, headers={"X-Request-ID": "storefront-test"}) as client:
        yield client
    if engine is not None:
        engine.dispose()


def test_a_customers_notifications_are_listed_oldest_first(storefront: Storefront,
                                                           seeded: Seeded) -> None:
    ann = seeded.ann
    page = storefront.list_notifications(ann)
    assert [n.kind for n in page.items] == ["welcome", "order_placed", "order_cancelled"]
    assert (page.page, page.per_page, page.total, page.has_next) == (1, 20, 3, False)
    assert {n.customer_id for n in page.items} == {ann}
    assert {n.recipient for n in page.items} == {"ann@example.com"}
    assert page.items[0].body == "Hello Ann, your account is ready."
    assert "5.00 EUR" in page.items[1].body
    assert [n.created_at for n in page.items] == sorted(n.created_at for n in page.items)
    assert all(n.created_at.utcoffset() is not None for n in page.items)


def test_pages_of_notifications(storefront: Storefront, seeded: Seeded) -> None:
    ann = seeded.ann
    everything = storefront.list_notifications(ann).items
    first = storefront.list_notifications(ann, page=1, per_page=2)
    second = storefront.list_notifications(ann, page=2, per_page=2)
    assert first.items == everything[:2] and first.has_next
    assert second.items == everything[2:] and not second.has_next


def test_an_unknown_customer_has_an_empty_page(storefront: Storefront) -> None:
    page = storefront.list_notifications("0193a1b2-0000-7000-8000-0000000000ff")
    assert (page.items, page.total, page.has_next) == ((), 0, False)


def test_no_customer_id_is_the_apis_invalid_query(storefront: Storefront) -> None:
    with pytest.raises(StorefrontError) as caught:
        storefront.list_notifications("")
    assert (caught.value.status, caught.value.code) == (400, "invalid_query")
    assert caught.value.message == "customer_id is required"
    assert caught.value.request_id == "storefront-test"
    with pytest.raises(StorefrontError) as too_many:
        storefront.list_notifications("c-1", per_page=101)
    assert (too_many.value.status, too_many.value.code) == (400, "invalid_query")
