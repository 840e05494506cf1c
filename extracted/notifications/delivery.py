"""Sending each notification once in effect: its delivery row's claim, lease and outcome.

A delivery starts ``pending`` (written with its notification by the consumer). A job claims it
with one atomic UPDATE, which only succeeds on a ``pending`` row or on a ``sending`` row whose
lease has run out, and moves it to ``sending`` with a lease and ``attempts + 1``. Only the
claimer talks to the SMTP server; ``attempts`` is its fencing token, so a holder whose lease
ran out cannot release or fail a newer claim. The outcome is written in its own short
transaction: ``sent`` right after the server's 250, ``failed`` on a permanent refusal or when
retries run out, back to ``pending`` on a transient error (the job is retried).

Exactly once, except for one window: a worker killed (or losing its database) after the
server's 250 and before the ``sent`` commit leaves the row ``sending``; when the lease runs out
the email is sent again. Both copies carry the same ``Message-ID``, so a receiver can drop the
second. Everything before the 250 is safe: the server did not accept the message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Engine, and_, or_, select, update

from extracted.notifications.tables import deliveries, notifications
from strangler_messaging.sqltypes import utc_now

SENDING = "sending"
PENDING = "pending"
SENT = "sent"
FAILED = "failed"


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    """How notifications are sent: the SMTP server, the lease, retries and the job queue."""

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    mail_from: str = "shop@shop.invalid"
    smtp_timeout_seconds: float = 10.0
    lease_seconds: float = 60.0
    max_retries: int = 8
    min_backoff_ms: int = 200
    max_backoff_ms: int = 30_000
    stale_after_seconds: float = 60.0
    queue_name: str = "notifications.send"

    def __post_init__(self) -> None:
        # One send may wait on the server up to a timeout per step; DATA alone has three (see
        # SmtpMailer), so a lease shorter than that would expire under a healthy send.
        if self.lease_seconds <= 3 * self.smtp_timeout_seconds:
            raise ValueError("lease_seconds must be longer than 3 SMTP timeouts")
        if not 0 < self.min_backoff_ms <= self.max_backoff_ms:
            raise ValueError("need 0 < min_backoff_ms <= max_backoff_ms")
        if self.max_retries < 0:
            raise ValueError("max_retries must not be negative")
        # A pending delivery waits up to max_backoff for its retry; the sweeper must not take
        # that wait for a lost job (a backlog longer than this only costs duplicate jobs).
        if self.stale_after_seconds * 1000 <= self.max_backoff_ms:
            raise ValueError("stale_after_seconds must be longer than max_backoff_ms")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DeliverySettings:
        """Read the ``NOTIFICATIONS_*`` variables; unset ones keep their defaults."""
        env = os.environ if environ is None else environ
        default = cls()

        def get(name: str, fallback: object) -> str:
            return env.get(f"NOTIFICATIONS_{name}") or str(fallback)

        return cls(
            smtp_host=get("SMTP_HOST", default.smtp_host),
            smtp_port=int(get("SMTP_PORT", default.smtp_port)),
            mail_from=get("MAIL_FROM", default.mail_from),
            smtp_timeout_seconds=float(get("SMTP_TIMEOUT_SECONDS",
                                           default.smtp_timeout_seconds)),
            lease_seconds=float(get("LEASE_SECONDS", default.lease_seconds)),
            max_retries=int(get("MAX_RETRIES", default.max_retries)),
            min_backoff_ms=int(get("MIN_BACKOFF_MS", default.min_backoff_ms)),
            max_backoff_ms=int(get("MAX_BACKOFF_MS", default.max_backoff_ms)),
            stale_after_seconds=float(get("STALE_AFTER_SECONDS", default.stale_after_seconds)),
            queue_name=get("SEND_QUEUE", default.queue_name),
        )


@dataclass(frozen=True, slots=True)
class Claim:
    """The right to send one notification until ``lease_until``; ``attempt`` fences it."""

    notification_id: str
    attempt: int
    lease_until: datetime
    recipient: str
    message_id: str
    subject: str
    body: str


@dataclass(frozen=True, slots=True)
class Held:
    """Another job holds the delivery (or just gave it back): try again after ``lease_until``."""

    lease_until: datetime | None


@dataclass(frozen=True, slots=True)
class Settled:
    """Nothing to send: the delivery is ``sent`` or ``failed``, or there is none (``None``)."""

    status: str | None


class DeliveryStore:
    """The delivery rows' state transitions, each in its own short transaction."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def claim(self, notification_id: str, lease_seconds: float,
              now: datetime | None = None) -> Claim | Held | Settled:
        """Take the delivery for ``lease_seconds`` if it is pending or its lease ran out."""
        now = now or utc_now()
        until = now + timedelta(seconds=lease_seconds)
        claimable = or_(deliveries.c.status == PENDING,
                        and_(deliveries.c.status == SENDING, deliveries.c.lease_until < now))
        with self._engine.begin() as conn:
            row = conn.execute(
                update(deliveries)
                .where(deliveries.c.notification_id == notification_id, claimable)
                .values(status=SENDING, lease_until=until, attempts=deliveries.c.attempts + 1,
                        updated_at=now)
                .returning(deliveries.c.attempts, deliveries.c.recipient,
                           deliveries.c.message_id)).one_or_none()
            if row is None:
                current = conn.execute(
                    select(deliveries.c.status, deliveries.c.lease_until)
                    .where(deliveries.c.notification_id == notification_id)).one_or_none()
                if current is None or current.status in (SENT, FAILED):
                    return Settled(current.status if current else None)
                return Held(current.lease_until)
            content = conn.execute(
                select(notifications.c.subject, notifications.c.body)
                .where(notifications.c.id == notification_id)).one_or_none()
            if content is None:  # cannot happen through the consumer; never retry it
                conn.execute(update(deliveries)
                             .where(deliveries.c.notification_id == notification_id)
                             .values(status=FAILED, lease_until=None, updated_at=now,
                                     last_error="the notification itself does not exist"))
                return Settled(FAILED)
        return Claim(notification_id, row.attempts, until, row.recipient, row.message_id,
                     content.subject, content.body)

    def mark_sent(self, claim: Claim) -> bool:
        """Record the server's acceptance; ``False`` if the claim had been taken over meanwhile.

        The email went out either way, so the row becomes ``sent`` unless it already is.
        """
        now = utc_now()
        with self._engine.begin() as conn:
            fenced = conn.execute(
                update(deliveries).where(*self._held_by(claim))
                .values(status=SENT, sent_at=now, lease_until=None, updated_at=now)).rowcount
            if not fenced:
                conn.execute(
                    update(deliveries)
                    .where(deliveries.c.notification_id == claim.notification_id,
                           deliveries.c.status != SENT)
                    .values(status=SENT, sent_at=now, lease_until=None, updated_at=now))
        return bool(fenced)

    def mark_failed(self, claim: Claim, error: str) -> bool:
        """Give up on the delivery with ``error``; ``False`` if the claim was no longer ours."""
        return self._settle(claim, status=FAILED, last_error=error[:2000])

    def release(self, claim: Claim, error: str) -> bool:
        """Hand the delivery back as ``pending`` after a transient error, for the retry."""
        return self._settle(claim, status=PENDING, last_error=error[:2000])

    def take_stale(self, older_than_seconds: float, *, limit: int = 500,
                   now: datetime | None = None) -> list[str]:
        """Deliveries whose job is presumed lost, each marked so only one caller returns it.

        Those ``pending`` for ``older_than_seconds`` (the process died between the commit and
        the enqueue) and those ``sending`` with a lease that ran out (the holder died).
        Returning one bumps its ``updated_at`` (and gives an expired lease back), so a second
        sweeper, or the next sweep, does not enqueue it again right away.
        """
        now = now or utc_now()
        cutoff = now - timedelta(seconds=older_than_seconds)
        stale = or_(and_(deliveries.c.status == PENDING, deliveries.c.updated_at <= cutoff),
                    and_(deliveries.c.status == SENDING, deliveries.c.lease_until < now))
        taken: list[str] = []
        with self._engine.begin() as conn:
            candidates = conn.execute(
                select(deliveries.c.notification_id).where(stale)
                .order_by(deliveries.c.updated_at).limit(limit)).scalars().all()
            for notification_id in candidates:
                if conn.execute(update(deliveries)
                                .where(deliveries.c.notification_id == notification_id, stale)
                                .values(status=PENDING, lease_until=None, updated_at=now)
                                ).rowcount:
                    taken.append(notification_id)
        return taken

    def _settle(self, claim: Claim, **values: object) -> bool:
        with self._engine.begin() as conn:
            return bool(conn.execute(
                update(deliveries).where(*self._held_by(claim))
                .values(lease_until=None, updated_at=utc_now(), **values)).rowcount)

    @staticmethod
    def _held_by(claim: Claim) -> tuple[ColumnElement[bool], ...]:
        return (deliveries.c.notification_id == claim.notification_id,
                deliveries.c.status == SENDING, deliveries.c.attempts == claim.attempt)
