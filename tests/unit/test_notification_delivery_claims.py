"""The delivery's claim, lease and outcome, and the send job's decisions, on in-memory SQLite
with dramatiq's stub broker and a recording mailer (no network)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import TimeLimitExceeded
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from extracted.notifications.delivery import (
    Claim,
    DeliverySettings,
    DeliveryStore,
    Held,
    Settled,
)
from extracted.notifications.jobs import DeliveryJobs, DeliveryLeased, DeliveryRetry
from extracted.notifications.mailer import (
    OutgoingEmail,
    PermanentDeliveryError,
    SmtpMailer,
    TransientDeliveryError,
)
from extracted.notifications.tables import notifications
from strangler_messaging.sqltypes import utc_now
from tests.support.smtp import (
    age_delivery,
    delivery,
    delivery_database,
    message_id_of,
    record_notification,
)

SETTINGS = DeliverySettings(smtp_timeout_seconds=1, lease_seconds=30, max_retries=3,
                            min_backoff_ms=100, max_backoff_ms=2000)


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = delivery_database("sqlite://", migrate=False)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine: Engine) -> DeliveryStore:
    return DeliveryStore(engine)


def test_a_pending_delivery_is_claimed_once(engine: Engine, store: DeliveryStore) -> None:
    notification_id = record_notification(engine, subject="Placed", body="Thanks")
    first = store.claim(notification_id, lease_seconds=30)
    second = store.claim(notification_id, lease_seconds=30)
    assert isinstance(first, Claim)
    assert (first.attempt, first.recipient, first.subject, first.body) == (
        1, "ada@example.com", "Placed", "Thanks")
    assert first.message_id == message_id_of(notification_id)
    assert isinstance(second, Held)
    assert second.lease_until == first.lease_until
    row = delivery(engine, notification_id)
    assert (row.status, row.attempts, row.lease_until) == ("sending", 1, first.lease_until)


def test_an_expired_lease_can_be_claimed_again(engine: Engine, store: DeliveryStore) -> None:
    notification_id = record_notification(engine)
    first = store.claim(notification_id, lease_seconds=30)
    assert isinstance(first, Claim)
    later = first.lease_until + timedelta(milliseconds=1)
    assert isinstance(store.claim(notification_id, 30, now=later - timedelta(seconds=1)), Held)
    second = store.claim(notification_id, lease_seconds=30, now=later)
    assert isinstance(second, Claim)
    assert second.attempt == 2
    # the first holder's lease is gone: it can no longer give the delivery back or fail it
    assert not store.release(first, "late")
    assert not store.mark_failed(first, "late")
    assert delivery(engine, notification_id).status == "sending"


def test_sent_and_failed_deliveries_are_not_claimed(engine: Engine,
                                                    store: DeliveryStore) -> None:
    sent, failed = record_notification(engine), record_notification(engine)
    for notification_id in (sent, failed):
        claim = store.claim(notification_id, 30)
        assert isinstance(claim, Claim)
        if notification_id == sent:
            assert store.mark_sent(claim)
        else:
            assert store.mark_failed(claim, "550 no such user")
    far_future = utc_now() + timedelta(days=1)
    assert store.claim(sent, 30, now=far_future) == Settled("sent")
    assert store.claim(failed, 30, now=far_future) == Settled("failed")
    assert store.claim("no-such-notification", 30) == Settled(None)
    row = delivery(engine, sent)
    assert row.sent_at is not None and row.lease_until is None
    assert delivery(engine, failed).last_error == "550 no such user"


def test_a_released_delivery_is_pending_again_with_its_error(engine: Engine,
                                                             store: DeliveryStore) -> None:
    notification_id = record_notification(engine)
    claim = store.claim(notification_id, 30)
    assert isinstance(claim, Claim)
    assert store.release(claim, "451 try later")
    row = delivery(engine, notification_id)
    assert (row.status, row.last_error, row.lease_until) == ("pending", "451 try later", None)
    again = store.claim(notification_id, 30)
    assert isinstance(again, Claim) and again.attempt == 2


def test_a_late_250_is_still_recorded_as_sent(engine: Engine, store: DeliveryStore) -> None:
    notification_id = record_notification(engine)
    first = store.claim(notification_id, 30)
    assert isinstance(first, Claim)
    assert isinstance(store.claim(notification_id, 30, now=first.lease_until
                                  + timedelta(seconds=1)), Claim)
    assert not store.mark_sent(first)  # the claim was taken over ...
    assert delivery(engine, notification_id).status == "sent"  # ... but the email went out


def test_stale_deliveries_are_taken_once(engine: Engine, store: DeliveryStore) -> None:
    fresh, lost, crashed = (record_notification(engine) for _ in range(3))
    age_delivery(engine, lost, 120)
    claim = store.claim(crashed, 30)
    assert isinstance(claim, Claim)
    age_delivery(engine, crashed, 120)  # its holder died and the lease ran out
    assert sorted(store.take_stale(60)) == sorted([lost, crashed])
    assert store.take_stale(60) == []  # a second sweeper gets nothing
    assert delivery(engine, crashed).status == "pending"
    assert delivery(engine, fresh).status == "pending"


class RecordingMailer(SmtpMailer):
    """Remembers what it was asked to send; fails with ``error`` if set."""

    def __init__(self, error: Exception | None = None) -> None:
        super().__init__("127.0.0.1", 9, timeout=1)
        self.error = error
        self.sent: list[OutgoingEmail] = []

    def send(self, email: OutgoingEmail, *, must_finish_by: float | None = None) -> None:
        if self.error is not None:
            raise self.error
        self.sent.append(email)


def jobs_with(engine: Engine, mailer: SmtpMailer,
              settings: DeliverySettings = SETTINGS) -> DeliveryJobs:
    return DeliveryJobs(StubBroker(), engine, settings, mailer=mailer)


def test_the_job_sends_once_and_then_does_nothing(engine: Engine) -> None:
    mailer = RecordingMailer()
    jobs = jobs_with(engine, mailer)
    notification_id = record_notification(engine)
    jobs.send(notification_id)
    jobs.send(notification_id)
    assert [m.message_id for m in mailer.sent] == [message_id_of(notification_id)]
    assert mailer.sent[0].sender == SETTINGS.mail_from
    assert delivery(engine, notification_id).status == "sent"
    assert (jobs.metrics.count("sent"), jobs.metrics.count("duplicate")) == (1, 1)


def test_a_transient_failure_gives_the_delivery_back_and_retries(engine: Engine) -> None:
    jobs = jobs_with(engine, RecordingMailer(TransientDeliveryError("451 try later")))
    notification_id = record_notification(engine)
    with pytest.raises(DeliveryRetry) as raised:
        jobs.send(notification_id)
    assert raised.value.delay is None  # so the Retries middleware backs off exponentially
    assert jobs.should_retry(0, raised.value)
    row = delivery(engine, notification_id)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "451 try later")
    assert jobs.metrics.count("retried") == 1


def test_a_transient_failure_on_the_last_retry_fails_the_delivery(engine: Engine) -> None:
    settings = replace(SETTINGS, max_retries=0)
    jobs = jobs_with(engine, RecordingMailer(TransientDeliveryError("451 try later")), settings)
    notification_id = record_notification(engine)
    with pytest.raises(TransientDeliveryError) as raised:
        jobs.send(notification_id)
    assert not jobs.should_retry(0, raised.value)  # so dramatiq dead-letters it
    row = delivery(engine, notification_id)
    assert row.status == "failed"
    assert row.last_error == "gave up after 1 attempts: 451 try later"


def test_a_permanent_failure_fails_the_delivery_and_is_never_retried(engine: Engine) -> None:
    jobs = jobs_with(engine, RecordingMailer(PermanentDeliveryError("550 no such user")))
    notification_id = record_notification(engine)
    with pytest.raises(PermanentDeliveryError):
        jobs.send(notification_id)
    row = delivery(engine, notification_id)
    assert (row.status, row.last_error) == ("failed", "550 no such user")
    assert PermanentDeliveryError in jobs.actor.options["throws"]
    assert not jobs.should_retry(0, PermanentDeliveryError("550"))


def test_a_bug_fails_the_delivery_instead_of_looping(engine: Engine) -> None:
    jobs = jobs_with(engine, RecordingMailer(KeyError("subject")))
    notification_id = record_notification(engine)
    with pytest.raises(KeyError) as raised:
        jobs.send(notification_id)
    assert not jobs.should_retry(0, raised.value)
    assert delivery(engine, notification_id).status == "failed"


def test_a_leased_delivery_is_retried_when_the_lease_ends(engine: Engine) -> None:
    mailer = RecordingMailer()
    jobs = jobs_with(engine, mailer)
    notification_id = record_notification(engine)
    assert isinstance(jobs.store.claim(notification_id, lease_seconds=1.0), Claim)
    with pytest.raises(DeliveryLeased) as raised:
        jobs.send(notification_id)
    assert raised.value.delay is not None
    assert 900 <= raised.value.delay <= 1100  # the rest of the lease, not a blind backoff
    assert jobs.should_retry(99, raised.value)  # however many retries were used
    assert mailer.sent == []


def test_only_transient_errors_are_retried_and_only_while_retries_are_left(
        engine: Engine) -> None:
    jobs = jobs_with(engine, RecordingMailer())
    for error in (DeliveryRetry("451"), TransientDeliveryError("x"), TimeLimitExceeded(),
                  OperationalError("SELECT 1", {}, Exception("database is locked"))):
        assert jobs.should_retry(SETTINGS.max_retries - 1, error)
        assert not jobs.should_retry(SETTINGS.max_retries, error)
    assert not jobs.should_retry(0, ValueError("a bug"))


def test_enqueue_sends_one_job_per_id_to_the_send_queue(engine: Engine) -> None:
    broker = StubBroker()
    jobs = DeliveryJobs(broker, engine, replace(SETTINGS, queue_name="test.send"),
                        mailer=RecordingMailer())
    jobs.enqueue(["a", "b", "a"])
    messages = list(broker.queues["test.send"].queue)
    assert len(messages) == 3
    assert jobs.actor.options["max_retries"] == SETTINGS.max_retries
    assert jobs.actor.options["min_backoff"] == SETTINGS.min_backoff_ms


def test_a_delivery_without_its_notification_fails_instead_of_being_retried(
        engine: Engine, store: DeliveryStore) -> None:
    notification_id = record_notification(engine)
    with engine.begin() as conn:
        conn.execute(notifications.delete().where(notifications.c.id == notification_id))
    assert store.claim(notification_id, 30) == Settled("failed")
    assert "does not exist" in (delivery(engine, notification_id).last_error or "")
