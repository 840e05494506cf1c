"""The notifications service's recording side, fed with the monolith's real events.

Until the switch-over the monolith decides every causing event for itself: the service records
nothing and keeps copies of the monolith's recordings (its API then answers exactly as the
monolith's). After it, the monolith decides them for the service, which records one
notification per event, with a pending delivery whose job is enqueued only once the transaction
has committed. An event and its decision meet whichever arrives first. SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from extracted.notifications.app import create_app
from extracted.notifications.recording import CONSUMER, Recorder, write_ownership
from extracted.notifications.settings import NotificationsSettings
from extracted.notifications.tables import deliveries, inbox, notifications, outbox, pending
from legacy_monolith.app import Shop
from strangler_messaging import CloudEvent
from strangler_messaging.inbox import Inbox
from strangler_messaging.outbox import row_to_event
from tests.conftest import outbox_events
from tests.integration.test_api_notifications import order_and_cancel, register


class Jobs:
    """Records what the recorder enqueued, per call."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, ids: Sequence[str]) -> None:
        self.calls.append(list(ids))


def _apply(engine: Engine, recorder: Recorder, events: list[CloudEvent]) -> None:
    handlers = recorder.handlers()
    bound = [e for e in events if e.type in handlers and e.origin != "notifications"]
    with Session(engine) as session, session.begin():
        for event in Inbox(inbox, CONSUMER).admit(session, bound).fresh:
            handlers[event.type](session, event)


def _switch(shop: Shop, engine: Engine) -> None:
    """Both sides record the service as the owner (what the switch-over ends with)."""
    with shop.engine.begin() as conn:
        shop.notifications_ownership.hand_over(conn, to="notifications", epoch=1)
    with engine.begin() as conn:
        write_ownership().hand_over(conn, to="notifications", epoch=1)


def _count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(table)) or 0)  # type: ignore[arg-type]


@pytest.fixture
def service(notifications_engine: Engine) -> FlaskClient:
    return create_app(NotificationsSettings(database_url="sqlite://"),
                      engine=notifications_engine).test_client()


def test_before_the_switch_the_service_only_copies_and_answers_like_the_monolith(
        shop: Shop, client: FlaskClient, service: FlaskClient,
        notifications_engine: Engine) -> None:
    customer = register(client)
    order_and_cancel(client, customer)
    jobs = Jobs()
    _apply(notifications_engine, Recorder(jobs), outbox_events(shop))
    with notifications_engine.connect() as conn:
        origins = conn.execute(select(notifications.c.origin)).scalars().all()
    assert origins == ["monolith"] * 3 and jobs.calls == []
    assert _count(notifications_engine, deliveries) == 0
    assert _count(notifications_engine, pending) == 0  # every event met its decision
    for url in (f"/api/notifications?customer_id={customer}",
                f"/api/notifications?customer_id={customer}&per_page=2&page=2",
                "/api/notifications?customer_id=nobody", "/api/notifications",
                f"/api/notifications?customer_id={customer}&page=0"):
        expected, actual = client.get(url), service.get(url)
        assert (actual.status_code, actual.data) == (expected.status_code, expected.data), url


def test_after_the_switch_the_service_records_and_enqueues_once_committed(
        shop: Shop, client: FlaskClient, service: FlaskClient,
        notifications_engine: Engine) -> None:
    _switch(shop, notifications_engine)
    customer = register(client)
    order_and_cancel(client, customer)
    events = outbox_events(shop)
    decided = [e for e in events if e.type.startswith("notifications.")]
    assert [e.data["handled_by"] for e in decided] == ["notifications"] * 3  # and nothing else
    assert client.get(f"/api/notifications?customer_id={customer}").json["total"] == 0

    jobs = Jobs()
    _apply(notifications_engine, Recorder(jobs), events)
    _apply(notifications_engine, Recorder(jobs), events)  # redelivered: the inbox drops them
    listed = service.get(f"/api/notifications?customer_id={customer}").json
    assert [n["kind"] for n in listed["items"]] == ["welcome", "order_placed", "order_cancelled"]
    assert listed["items"][0]["body"] == "Hello Ann, your account is ready."
    assert {n["recipient"] for n in listed["items"]} == {"ann@example.com"}
    assert jobs.calls == [[n["id"] for n in listed["items"]]]
    with notifications_engine.connect() as conn:
        pending = conn.execute(select(deliveries.c.notification_id, deliveries.c.status,
                                      deliveries.c.message_id)).all()
        published = [row_to_event(r) for r in conn.execute(outbox.select())]
    assert {(p.status, p.message_id) for p in pending} == {
        ("pending", f"<{n['id']}@notifications.shop.invalid>") for n in listed["items"]}
    assert [(e.type, e.origin) for e in published] == [
        ("notifications.notification.recorded.v1", "notifications")] * 3


def test_a_recording_rolled_back_enqueues_nothing(shop: Shop, client: FlaskClient,
                                                  notifications_engine: Engine) -> None:
    _switch(shop, notifications_engine)
    register(client)
    jobs = Jobs()
    recorder = Recorder(jobs)
    registered, decided = outbox_events(shop)
    with Session(notifications_engine) as session:
        with session.begin():
            recorder.customer_registered(session, registered)
            recorder.decided(session, decided)
            session.rollback()
        with session.begin():  # the same session, a later transaction: still nothing stale
            pass
    assert jobs.calls == [] and _count(notifications_engine, notifications) == 0


def test_a_decision_that_arrives_before_its_event_waits_for_it(
        shop: Shop, client: FlaskClient, notifications_engine: Engine) -> None:
    _switch(shop, notifications_engine)
    register(client)
    registered, decided = outbox_events(shop)
    jobs = Jobs()
    _apply(notifications_engine, Recorder(jobs), [decided])
    assert _count(notifications_engine, pending) == 1 and jobs.calls == []
    _apply(notifications_engine, Recorder(jobs), [registered])
    assert _count(notifications_engine, pending) == 0
    assert _count(notifications_engine, notifications) == 1 and len(jobs.calls) == 1
