"""Notification delivery without a network: failure classification, settings, the message."""

from __future__ import annotations

import smtplib
import socket
from datetime import UTC, datetime

import pytest

from extracted.notifications.delivery import DeliverySettings
from extracted.notifications.mailer import (
    OutgoingEmail,
    PermanentDeliveryError,
    TransientDeliveryError,
    build_message,
    classify,
)

PERMANENT = PermanentDeliveryError
TRANSIENT = TransientDeliveryError


@pytest.mark.parametrize(("error", "kind"), [
    (smtplib.SMTPRecipientsRefused({"a@x.invalid": (550, b"5.1.1 no such user")}), PERMANENT),
    (smtplib.SMTPRecipientsRefused({"a@x.invalid": (450, b"4.2.1 mailbox busy")}), TRANSIENT),
    (smtplib.SMTPSenderRefused(553, b"5.7.1 not allowed", "shop@x.invalid"), PERMANENT),
    (smtplib.SMTPSenderRefused(451, b"4.3.0 try later", "shop@x.invalid"), TRANSIENT),
    (smtplib.SMTPDataError(554, b"5.7.1 rejected"), PERMANENT),
    (smtplib.SMTPDataError(451, b"4.3.0 try later"), TRANSIENT),
    (smtplib.SMTPResponseException(421, b"4.4.2 closing"), TRANSIENT),
    (smtplib.SMTPConnectError(554, b"no service"), PERMANENT),
    (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), TRANSIENT),
    (smtplib.SMTPNotSupportedError("SMTPUTF8"), PERMANENT),
    (ConnectionRefusedError(111, "Connection refused"), TRANSIENT),
    (TimeoutError("timed out"), TRANSIENT),
    (socket.gaierror(-2, "Name or service not known"), TRANSIENT),
    (OSError(104, "Connection reset by peer"), TRANSIENT),
], ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else "")
def test_smtp_failures_are_classified_as_permanent_or_transient(
        error: BaseException, kind: type[Exception]) -> None:
    assert type(classify(error)) is kind


def test_the_classification_keeps_the_servers_answer() -> None:
    error = classify(smtplib.SMTPRecipientsRefused({"a@x.invalid": (550, b"5.1.1 no user")}))
    assert "550 5.1.1 no user" in str(error)


def test_errors_that_are_not_about_sending_are_not_classified() -> None:
    assert classify(ValueError("a bug")) is None
    assert classify(KeyError("subject")) is None


def test_settings_come_from_the_environment() -> None:
    settings = DeliverySettings.from_env({
        "NOTIFICATIONS_SMTP_HOST": "mail.internal", "NOTIFICATIONS_SMTP_PORT": "2525",
        "NOTIFICATIONS_MAIL_FROM": "noreply@shop.example", "NOTIFICATIONS_LEASE_SECONDS": "90",
        "NOTIFICATIONS_MAX_RETRIES": "3", "NOTIFICATIONS_MIN_BACKOFF_MS": "50",
        "NOTIFICATIONS_MAX_BACKOFF_MS": "1000", "NOTIFICATIONS_SEND_QUEUE": "q.send"})
    assert (settings.smtp_host, settings.smtp_port, settings.mail_from) == (
        "mail.internal", 2525, "noreply@shop.example")
    assert (settings.lease_seconds, settings.max_retries) == (90.0, 3)
    assert (settings.min_backoff_ms, settings.max_backoff_ms) == (50, 1000)
    assert settings.queue_name == "q.send"
    assert DeliverySettings.from_env({}) == DeliverySettings()


def test_a_lease_shorter_than_a_send_can_take_is_refused() -> None:
    with pytest.raises(ValueError, match="lease"):
        DeliverySettings(smtp_timeout_seconds=10, lease_seconds=20)
    with pytest.raises(ValueError, match="backoff"):
        DeliverySettings(min_backoff_ms=500, max_backoff_ms=100)
    with pytest.raises(ValueError, match="stale_after"):  # the sweeper would race the retries
        DeliverySettings(max_backoff_ms=30_000, stale_after_seconds=20)


def test_the_message_carries_the_headers_a_receiver_dedupes_and_threads_on() -> None:
    email = OutgoingEmail("shop@shop.invalid", "ada@example.com", "Your order is placed",
                          "Thank you.\n", "<n-1@notifications.shop.invalid>")
    message = build_message(email, date=datetime(2024, 5, 1, 12, 0, tzinfo=UTC))
    assert message["From"] == "shop@shop.invalid"
    assert message["To"] == "ada@example.com"
    assert message["Subject"] == "Your order is placed"
    assert message["Message-ID"] == "<n-1@notifications.shop.invalid>"
    assert message["Date"] == "Wed, 01 May 2024 12:00:00 +0000"
    assert message.get_content() == "Thank you.\n"
    assert b"\r\n" in message.as_bytes()  # SMTP line endings


def test_a_subject_that_would_inject_headers_cannot_be_built() -> None:
    email = OutgoingEmail("shop@shop.invalid", "ada@example.com", "Hi\r\nBcc: x@evil.invalid",
                          "body", "<n-1@notifications.shop.invalid>")
    with pytest.raises(ValueError):
        build_message(email)
