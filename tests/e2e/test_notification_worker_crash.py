"""The notifications worker as a real process, killed in the middle of sending an email.

SIGKILL lands while the SMTP server holds its answer to DATA: the server never said 250, so
the email was not sent. A new worker finds the job again (RabbitMQ redelivers what the dead
one had not acked; the lease keeps it from sending before the old claim has run out) and the
email arrives exactly once.
"""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from email.message import EmailMessage
from pathlib import Path

import pytest
from pika.adapters.blocking_connection import BlockingChannel
from sqlalchemy import Engine

from extracted.notifications.delivery import DeliverySettings
from extracted.notifications.jobs import DeliveryJobs, make_broker
from strangler_cli.smtp_sink import SmtpSink
from tests.support.processes import PYTHON, RunningProcess, free_port, kill, running, stop
from tests.support.smtp import delivery, delivery_database, message_id_of, record_notification
from tests.support.waiting import wait_until

pytestmark = pytest.mark.timeout(90)

SMTP_TIMEOUT = 2.5
LEASE = 9.0  # must exceed 3 SMTP timeouts (DeliverySettings checks)


@pytest.fixture
def engine(fresh_postgres_url: str) -> Iterator[Engine]:
    made = delivery_database(fresh_postgres_url)
    yield made
    made.dispose()


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink("127.0.0.1", free_port()) as started:
        yield started


@pytest.fixture
def queue(amqp_channel: BlockingChannel) -> Iterator[str]:
    name = f"notifications.send.{uuid.uuid4().hex[:10]}"
    yield name
    for each in (name, f"{name}.DQ", f"{name}.XQ"):
        amqp_channel.queue_delete(each)


def worker_command() -> list[str]:
    """``strangler run worker notifications`` once it is registered, else the module's own
    entry point (the same ``run_worker``)."""
    from strangler_cli.run import run

    if "worker" in run.commands:
        return [PYTHON, "-m", "strangler_cli", "run", "worker", "notifications"]
    return [PYTHON, "-m", "extracted.notifications.worker"]


def worker_process(engine: Engine, amqp_url: str, queue: str, sink: SmtpSink,
                   log: Path) -> AbstractContextManager[RunningProcess]:
    port = free_port()
    env = {"AMQP_URL": amqp_url,
           "NOTIFICATIONS_DATABASE_URL": engine.url.render_as_string(hide_password=False),
           "NOTIFICATIONS_SMTP_HOST": sink.host, "NOTIFICATIONS_SMTP_PORT": str(sink.port),
           "NOTIFICATIONS_SMTP_TIMEOUT_SECONDS": str(SMTP_TIMEOUT),
           "NOTIFICATIONS_LEASE_SECONDS": str(LEASE), "NOTIFICATIONS_SEND_QUEUE": queue,
           "NOTIFICATIONS_MIN_BACKOFF_MS": "100", "NOTIFICATIONS_MAX_BACKOFF_MS": "1000"}
    return running([], port=port, env=env, log=log, ready_path="/metrics",
                   command=[*worker_command(), "--threads", "2", "--metrics-port", str(port)])


def enqueue(amqp_url: str, engine: Engine, queue: str, ids: list[str]) -> None:
    """What the consumer does after its commit."""
    jobs = DeliveryJobs(make_broker(amqp_url), engine, DeliverySettings(
        smtp_timeout_seconds=SMTP_TIMEOUT, lease_seconds=LEASE, queue_name=queue))
    jobs.enqueue(ids)
    jobs.broker.close()


def test_a_worker_killed_before_the_250_is_replaced_and_the_email_arrives_once(
        engine: Engine, sink: SmtpSink, queue: str, amqp_url: str, tmp_path: Path) -> None:
    notification_id = record_notification(engine)
    sink.delay_data(60)  # the server sits on the message; the worker waits for its answer
    enqueue(amqp_url, engine, queue, [notification_id])

    with worker_process(engine, amqp_url, queue, sink, tmp_path / "first.log") as first:
        wait_until(lambda: sink.data_in_progress == 1, timeout=15,
                   message="the email in flight")
        assert delivery(engine, notification_id).status == "sending"
        kill(first.process)
    wait_until(lambda: sink.data_in_progress == 0, timeout=5, message="the server saw it go")
    assert sink.messages == []  # no 250, no email
    sink.delay_data(0)

    with worker_process(engine, amqp_url, queue, sink, tmp_path / "second.log") as second:
        wait_until(lambda: delivery(engine, notification_id).status == "sent",
                   timeout=LEASE + 10, message="sent by the second worker")
        wait_until(lambda: bool(sink.messages), timeout=2, message="the email received")
        assert stop(second.process) == 0  # SIGTERM: a clean stop

    received = sink.with_message_id(message_id_of(notification_id))
    assert len(received) == 1, (tmp_path / "second.log").read_text()
    assert len(sink.messages) == 1
    row = delivery(engine, notification_id)
    assert row.attempts == 2  # the killed claim, then the one that sent
    assert sink.data_started == 2


def test_sigterm_lets_the_email_in_flight_finish(
        engine: Engine, sink: SmtpSink, queue: str, amqp_url: str, tmp_path: Path) -> None:
    notification_id = record_notification(engine)
    sink.delay_data(1.0)  # shorter than the SMTP timeout: a slow but healthy server
    enqueue(amqp_url, engine, queue, [notification_id])
    with worker_process(engine, amqp_url, queue, sink, tmp_path / "worker.log") as worker:
        wait_until(lambda: sink.data_in_progress == 1, timeout=15,
                   message="the email in flight")
        assert stop(worker.process) == 0
    assert delivery(engine, notification_id).status == "sent"
    assert [m.message_id for m in sink.messages] == [message_id_of(notification_id)]


def test_the_smtp_sink_command_keeps_mail_until_sigterm(tmp_path: Path) -> None:
    port, maildir = free_port(), tmp_path / "mail"
    log = (tmp_path / "sink.log").open("wb")
    process = subprocess.Popen(
        [PYTHON, "-c", "from strangler_cli.smtp_sink import smtp_sink; smtp_sink()",
         "--port", str(port), "--maildir", str(maildir)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=dict(os.environ))
    try:
        wait_until(lambda: _answers(port), timeout=15, message="the sink listening")
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@x.invalid", "b@x.invalid", "Hi"
        message["Message-ID"] = "<m-1@x.invalid>"
        message.set_content("hello")
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
            client.send_message(message)
        os.killpg(process.pid, signal.SIGTERM)
        assert process.wait(10) == 0
    finally:
        if process.poll() is None:
            kill(process)
        log.close()
    files = list(maildir.glob("*.eml"))
    assert len(files) == 1
    assert b"Message-ID: <m-1@x.invalid>" in files[0].read_bytes()


def _answers(port: int) -> bool:
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=1) as client:
            return client.noop()[0] == 250
    except OSError:
        return False
