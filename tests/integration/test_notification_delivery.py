"""Notifications sent as dramatiq jobs over a real RabbitMQ to a real SMTP server, exactly once.

The worker runs in a thread of the test (dramatiq's worker and the sweeper, as in production);
each test has send queues of its own, so no test sees another's jobs.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from pika.adapters.blocking_connection import BlockingChannel
from sqlalchemy import Engine

from extracted.notifications.delivery import Claim, DeliverySettings, DeliveryStore, Held
from extracted.notifications.jobs import DeliveryJobs, make_broker
from extracted.notifications.worker import DeliveryWorker
from strangler_cli.smtp_sink import SmtpSink
from tests.support.processes import free_port
from tests.support.smtp import (
    age_delivery,
    dead_lettered_ids,
    delivery,
    delivery_database,
    message_id_of,
    queue_depth,
    record_notification,
)
from tests.support.waiting import in_thread, wait_until

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """The notifications schema on a fresh SQLite file or a fresh PostgreSQL database."""
    url = (f"sqlite:///{tmp_path / 'notifications.db'}" if request.param == "sqlite"
           else request.getfixturevalue("fresh_postgres_url"))
    made = delivery_database(url)
    yield made
    made.dispose()


@pytest.fixture
def settings(amqp_url: str, amqp_channel: BlockingChannel) -> Iterator[DeliverySettings]:
    """Fast timeouts and backoff, an SMTP port nobody listens on, a send queue of its own."""
    queue = f"notifications.send.{uuid.uuid4().hex[:10]}"
    yield DeliverySettings(smtp_port=free_port(), smtp_timeout_seconds=1, lease_seconds=5,
                           max_retries=8, min_backoff_ms=100, max_backoff_ms=1000,
                           queue_name=queue)
    for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
        amqp_channel.queue_delete(name)


@pytest.fixture
def jobs(amqp_url: str, engine: Engine, settings: DeliverySettings) -> Iterator[DeliveryJobs]:
    made = DeliveryJobs(make_broker(amqp_url), engine, settings)
    yield made
    made.broker.close()


def worker(jobs: DeliveryJobs, *, sweep_every: float = 60.0,
           stale_after: float | None = None) -> DeliveryWorker:
    return DeliveryWorker(jobs, threads=4, sweep_every=sweep_every, stale_after=stale_after)


def sink_for(settings: DeliverySettings) -> SmtpSink:
    return SmtpSink("127.0.0.1", settings.smtp_port)


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_a_job_retries_with_backoff_until_the_smtp_server_answers_and_sends_once(
        engine: Engine, jobs: DeliveryJobs, settings: DeliverySettings) -> None:
    notification_id = record_notification(engine)
    with in_thread(worker(jobs)):
        jobs.enqueue([notification_id])
        wait_until(lambda: delivery(engine, notification_id).attempts >= 3, timeout=10,
                   message="three refused attempts")
        row = delivery(engine, notification_id)
        assert row.status in ("pending", "sending")
        assert "Connection refused" in (row.last_error or "")
        assert jobs.metrics.count("retried") >= 2
        with sink_for(settings) as sink:
            wait_until(lambda: delivery(engine, notification_id).status == "sent", timeout=10,
                       message="sent once the server is up")
            time.sleep(0.5)
            assert [m.message_id for m in sink.messages] == [message_id_of(notification_id)]
    email = sink.messages[0]
    assert email.recipients == ("ada@example.com",)
    assert email.mail_from == settings.mail_from
    assert email.message["Subject"] == "Your order is placed"
    assert jobs.metrics.count("sent") == 1


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
@pytest.mark.parametrize("refusal", ["recipient", "data"])
def test_a_permanent_refusal_fails_the_delivery_and_dead_letters_the_job(
        engine: Engine, jobs: DeliveryJobs, settings: DeliverySettings,
        amqp_channel: BlockingChannel, refusal: str) -> None:
    notification_id = record_notification(engine, "gone@example.com")
    with sink_for(settings) as sink, in_thread(worker(jobs)):
        if refusal == "recipient":
            sink.refuse_recipient("gone@example.com", 550, "5.1.1 no such mailbox")
        else:
            sink.fail_next(1, 554, "5.7.1 message rejected")
        jobs.enqueue([notification_id])
        wait_until(lambda: queue_depth(amqp_channel, f"{settings.queue_name}.XQ") == 1,
                   timeout=10, message="the job in the dead-letter queue")
    row = delivery(engine, notification_id)
    assert row.status == "failed"
    assert row.attempts == 1
    assert ("550 5.1.1 no such mailbox" if refusal == "recipient"
            else "554 5.7.1 message rejected") in (row.last_error or "")
    assert dead_lettered_ids(amqp_channel, settings.queue_name) == [notification_id]
    assert queue_depth(amqp_channel, settings.queue_name) == 0
    assert queue_depth(amqp_channel, f"{settings.queue_name}.DQ") == 0
    assert sink.messages == []
    assert jobs.metrics.count("failed") == 1


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_transient_failures_past_the_last_retry_fail_the_delivery_and_dead_letter_the_job(
        engine: Engine, amqp_url: str, settings: DeliverySettings,
        amqp_channel: BlockingChannel) -> None:
    jobs = DeliveryJobs(make_broker(amqp_url), engine, replace(settings, max_retries=2))
    notification_id = record_notification(engine)
    with sink_for(settings) as sink, in_thread(worker(jobs)):
        sink.fail_next(100, 451, "4.3.0 mailbox busy")
        jobs.enqueue([notification_id])
        wait_until(lambda: queue_depth(amqp_channel, f"{settings.queue_name}.XQ") == 1,
                   timeout=15, message="the job in the dead-letter queue")
    row = delivery(engine, notification_id)
    assert (row.status, row.attempts) == ("failed", 3)
    assert row.last_error is not None
    assert row.last_error.startswith("gave up after 3 attempts")
    assert "451 4.3.0 mailbox busy" in row.last_error
    assert sink.data_started == 3 and sink.messages == []
    assert dead_lettered_ids(amqp_channel, settings.queue_name) == [notification_id]
    assert (jobs.metrics.count("retried"), jobs.metrics.count("failed")) == (2, 1)


def test_the_same_notification_enqueued_again_and_again_is_sent_once(
        engine: Engine, jobs: DeliveryJobs, settings: DeliverySettings,
        amqp_channel: BlockingChannel) -> None:
    notification_id = record_notification(engine)
    with sink_for(settings) as sink, in_thread(worker(jobs)):
        sink.delay_data(0.5)  # the jobs overlap while the first one sends
        jobs.enqueue([notification_id] * 3)
        jobs_sent = 3 + jobs.requeue_stale(0)
        wait_until(lambda: jobs.metrics.count("sent") + jobs.metrics.count("duplicate")
                   == jobs_sent, timeout=20, message="every job done")
    assert len(sink.with_message_id(message_id_of(notification_id))) == 1
    assert len(sink.messages) == 1
    assert delivery(engine, notification_id).status == "sent"
    assert jobs.metrics.count("sent") == 1
    assert queue_depth(amqp_channel, f"{settings.queue_name}.XQ") == 0


def test_deliveries_whose_job_was_lost_are_found_and_sent(
        engine: Engine, jobs: DeliveryJobs, settings: DeliverySettings) -> None:
    lost = record_notification(engine, "lost@example.com")  # committed; its enqueue never ran
    crashed = record_notification(engine, "crashed@example.com")
    assert isinstance(jobs.store.claim(crashed, settings.lease_seconds), Claim)
    age_delivery(engine, crashed, 60)  # its worker died mid-send and the lease ran out

    assert jobs.requeue_stale(30) == 1  # the crashed one; the lost one is too fresh to tell
    age_delivery(engine, lost, 60)
    assert jobs.requeue_stale(30) == 1  # now the lost one
    assert jobs.requeue_stale(30) == 0  # each only once
    with sink_for(settings) as sink, in_thread(worker(jobs)):
        wait_until(lambda: len(sink.messages) == 2, timeout=10, message="both sent")
        time.sleep(0.3)
    assert sorted(m.message_id or "" for m in sink.messages) == sorted(
        [message_id_of(lost), message_id_of(crashed)])
    assert {delivery(engine, n).status for n in (lost, crashed)} == {"sent"}


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_the_workers_sweeper_sends_what_was_never_enqueued(
        engine: Engine, jobs: DeliveryJobs, settings: DeliverySettings) -> None:
    lost = record_notification(engine)
    with sink_for(settings) as sink, in_thread(worker(jobs, sweep_every=0.2, stale_after=0.5)):
        wait_until(lambda: delivery(engine, lost).status == "sent", timeout=10,
                   message="the sweeper re-enqueued it")
        time.sleep(0.5)
    assert [m.message_id for m in sink.messages] == [message_id_of(lost)]


def test_concurrent_claims_of_one_delivery_have_one_winner(engine: Engine) -> None:
    store = DeliveryStore(engine)
    notification_id = record_notification(engine)
    start = threading.Barrier(8)
    results: list[object] = []

    def claim() -> None:
        start.wait()
        results.append(store.claim(notification_id, lease_seconds=30))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == 8
    assert sum(isinstance(r, Claim) for r in results) == 1
    assert sum(isinstance(r, Held) for r in results) == 7
    assert delivery(engine, notification_id).attempts == 1
