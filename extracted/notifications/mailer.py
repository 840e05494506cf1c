"""One email to one recipient over SMTP, and what a failure means: give up, or try again.

Permanent (never retried, the job goes to the dead-letter queue): a 5xx answer to MAIL, RCPT
or DATA, a message that cannot be built. Transient (retried with backoff): connection refused,
timeouts, disconnects, 4xx answers.
"""

from __future__ import annotations

import smtplib
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime


class DeliveryError(Exception):
    """A send that did not end with the server's acceptance."""


class PermanentDeliveryError(DeliveryError):
    """The server refused for good (5xx) or the message cannot be sent at all."""


class TransientDeliveryError(DeliveryError):
    """Worth another try later: the server was unreachable, slow, or answered 4xx."""


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    """What to send; ``message_id`` (``<id@domain>``) is the same on every attempt."""

    sender: str
    recipient: str
    subject: str
    body: str
    message_id: str


def build_message(email: OutgoingEmail, *, date: datetime | None = None) -> EmailMessage:
    """The RFC 5322 message with From, To, Subject, Message-ID, Date and a text body."""
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = email.sender
    message["To"] = email.recipient
    message["Subject"] = email.subject
    message["Message-ID"] = email.message_id
    message["Date"] = format_datetime(date or datetime.now(UTC))
    message.set_content(email.body)
    return message


def classify(exc: BaseException) -> DeliveryError | None:
    """Map an SMTP or socket failure to permanent or transient; ``None`` for anything else."""
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        kind = PermanentDeliveryError if any(c >= 500 for c in codes) else TransientDeliveryError
        return kind(f"recipient refused: {_answers(exc.recipients)}")
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode(errors="replace") if isinstance(
            exc.smtp_error, bytes) else str(exc.smtp_error)
        kind = PermanentDeliveryError if exc.smtp_code >= 500 else TransientDeliveryError
        return kind(f"{type(exc).__name__}: {exc.smtp_code} {text}")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return PermanentDeliveryError(f"server lacks a needed extension: {exc}")
    if isinstance(exc, smtplib.SMTPException | OSError):  # disconnects, refused, timeouts
        return TransientDeliveryError(f"{type(exc).__name__}: {exc}")
    return None


class SmtpMailer:
    """Sends through one SMTP server, a new connection per email (no TLS, no auth).

    Each socket operation waits at most ``timeout`` seconds. DATA is only started when the
    caller's ``must_finish_by`` (a :func:`time.monotonic` value: the end of its lease) leaves
    room for three of them (the 354, the body, the final reply), so a send never outlives the
    lease that makes it the only one.
    """

    def __init__(self, host: str, port: int, *, timeout: float = 10.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout

    def send(self, email: OutgoingEmail, *, must_finish_by: float | None = None) -> None:
        """Deliver ``email``; raises :class:`DeliveryError` saying whether to try again."""
        try:
            content = build_message(email).as_bytes()
        except (ValueError, TypeError, UnicodeError) as exc:
            raise PermanentDeliveryError(f"cannot build the message: {exc}") from exc
        try:
            self._transmit(email, content, must_finish_by)
        except Exception as exc:
            error = classify(exc)
            if error is None:
                raise
            raise error from exc

    def _transmit(self, email: OutgoingEmail, content: bytes,
                  must_finish_by: float | None) -> None:
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            smtp.ehlo_or_helo_if_needed()
            options = ["SMTPUTF8"] if not (email.sender + email.recipient).isascii() else []
            if options and not smtp.has_extn("smtputf8"):
                raise smtplib.SMTPNotSupportedError("SMTPUTF8 needed for a non-ASCII address")
            code, answer = smtp.mail(email.sender, options)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, answer, email.sender)
            code, answer = smtp.rcpt(email.recipient)
            if code not in (250, 251):
                raise smtplib.SMTPRecipientsRefused({email.recipient: (code, answer)})
            if must_finish_by is not None and time.monotonic() + 3 * self.timeout > must_finish_by:
                raise TransientDeliveryError("too little of the lease left to start DATA")
            code, answer = smtp.data(content)  # raises only if DATA itself is refused
            if code != 250:
                raise smtplib.SMTPDataError(code, answer)
        finally:
            _quit_quietly(smtp)


def _quit_quietly(smtp: smtplib.SMTP) -> None:
    # After a 250 the message is the server's; nothing QUIT says may turn that into a failure.
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _answers(refused: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{address}: {code} {text.decode(errors='replace')}"
                     for address, (code, text) in refused.items())
