"""The ``send_notification`` dramatiq job over RabbitMQ: retries, backoff and dead letters.

:class:`DeliveryJobs` builds the actor on the broker it is given (never dramatiq's global one)
and is both sides of the queue: :meth:`DeliveryJobs.enqueue` for the consumer after its commit,
:meth:`DeliveryJobs.send` as the job body in the worker.

How a job ends, with dramatiq 2.x's Retries middleware (``dramatiq/middleware/retries.py``):

- sent, or nothing to send (already ``sent``/``failed``: a duplicate job or a redelivery): acked;
- transient failure with retries left (:class:`DeliveryRetry`): the delivery goes back to
  ``pending`` and the Retries middleware re-publishes the message to ``<queue>.DQ`` with
  exponential backoff (``min_backoff`` .. ``max_backoff``, jittered), then acks the original;
- another job holds the lease: :class:`DeliveryLeased` (a ``dramatiq.Retry``) retries after the
  lease ends, however many retries were used, since the holder either finishes or its lease
  runs out;
- permanent failure (``throws``), transient failure with no retries left (``retry_when`` says
  no; note that ``retry_when``, when set, replaces ``max_retries``, so it checks the count
  itself) or an unexpected error: the delivery is ``failed`` with the error, the middleware
  calls ``message.fail()``, the worker nacks without requeue, and RabbitMQ dead-letters the
  message through the queue's ``x-dead-letter-routing-key`` into ``<queue>.XQ``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import datetime

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.middleware import CurrentMessage, TimeLimitExceeded, default_middleware
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from extracted.notifications.delivery import (
    Claim,
    DeliverySettings,
    DeliveryStore,
    Held,
    Settled,
)
from extracted.notifications.mailer import (
    OutgoingEmail,
    PermanentDeliveryError,
    SmtpMailer,
    TransientDeliveryError,
)
from strangler_messaging.sqltypes import utc_now

log = logging.getLogger(__name__)

ACTOR_NAME = "send_notification"


def make_broker(amqp_url: str, *, confirm_delivery: bool = True) -> RabbitmqBroker:
    """A RabbitMQ broker for the send queue; opens no connection until first used.

    dramatiq's default middleware plus ``CurrentMessage`` (the job reads its retry count).
    dramatiq 2.x has no Prometheus middleware by default (1.x had, and its exposition server
    binds port 9191); it is left out either way, the worker serves its own metrics.
    ``confirm_delivery`` makes each enqueue wait for the broker's confirm and publish
    ``mandatory``, so a message RabbitMQ could not route raises instead of vanishing.
    """
    middleware = [factory() for factory in default_middleware
                  if factory.__name__ != "Prometheus"]
    middleware.append(CurrentMessage())
    return RabbitmqBroker(url=amqp_url, confirm_delivery=confirm_delivery, middleware=middleware)


class DeliveryRetry(dramatiq.Retry):
    """A transient failure with retries left: retried with backoff, logged without a traceback."""


class DeliveryLeased(dramatiq.Retry):
    """Another job holds this delivery's lease; come back when it ends."""


class DeliveryMetrics:
    """Jobs by outcome: sent, failed, retried, duplicate (nothing to send), leased."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.jobs = Counter("notification_delivery_jobs", "Send jobs by outcome.", ["outcome"],
                            registry=self.registry)
        for outcome in ("sent", "failed", "retried", "duplicate", "leased"):
            self.jobs.labels(outcome)

    def count(self, outcome: str) -> int:
        """How many jobs ended with ``outcome`` so far."""
        value = self.registry.get_sample_value("notification_delivery_jobs_total",
                                               {"outcome": outcome})
        return int(value or 0)


class DeliveryJobs:
    """The send job on ``broker``, its enqueueing and the sweeper's re-enqueueing."""

    def __init__(self, broker: dramatiq.Broker, engine: Engine, settings: DeliverySettings, *,
                 mailer: SmtpMailer | None = None, metrics: DeliveryMetrics | None = None
                 ) -> None:
        self.broker = broker
        self.settings = settings
        self.store = DeliveryStore(engine)
        self.mailer = mailer or SmtpMailer(settings.smtp_host, settings.smtp_port,
                                           timeout=settings.smtp_timeout_seconds)
        self.metrics = metrics or DeliveryMetrics()
        if not any(isinstance(m, CurrentMessage) for m in broker.middleware):
            broker.add_middleware(CurrentMessage())
        self.actor: dramatiq.Actor[[str], None] = dramatiq.Actor(
            self.send, broker=broker, actor_name=ACTOR_NAME, queue_name=settings.queue_name,
            priority=0, options={
                "max_retries": settings.max_retries,
                "min_backoff": settings.min_backoff_ms,
                "max_backoff": settings.max_backoff_ms,
                "retry_when": self.should_retry,
                "throws": (PermanentDeliveryError,),
                # a job never runs past its lease; the retry finds the lease expired
                "time_limit": int(settings.lease_seconds * 1000),
            })

    @property
    def queue_name(self) -> str:
        """The queue the jobs go to (``<queue>.DQ`` for delays, ``<queue>.XQ`` dead letters)."""
        return self.settings.queue_name

    def enqueue(self, notification_ids: Sequence[str]) -> None:
        """Send one job per id; call after the transaction that wrote their deliveries."""
        for notification_id in notification_ids:
            self.actor.send(notification_id)

    def requeue_stale(self, older_than_seconds: float) -> int:
        """Enqueue again the deliveries whose job was lost; how many (see ``take_stale``)."""
        stale = self.store.take_stale(older_than_seconds)
        self.enqueue(stale)
        if stale:
            log.info("re-enqueued %d stale deliveries", len(stale))
        return len(stale)

    def should_retry(self, retries: int, exc: BaseException) -> bool:
        """The Retries middleware's ``retry_when``: transient errors, while retries are left."""
        if isinstance(exc, DeliveryLeased):
            return True
        transient = isinstance(exc, DeliveryRetry | TransientDeliveryError | TimeLimitExceeded
                               | OperationalError)
        return transient and retries < self.settings.max_retries

    def send(self, notification_id: str) -> None:
        """The job: claim the delivery, send it, record the outcome."""
        claim = self.store.claim(notification_id, self.settings.lease_seconds)
        if isinstance(claim, Settled):
            self.metrics.jobs.labels("duplicate").inc()
            log.debug("nothing to send for %s (%s)", notification_id, claim.status)
            return
        if isinstance(claim, Held):
            self.metrics.jobs.labels("leased").inc()
            raise DeliveryLeased(f"delivery {notification_id} is leased",
                                 delay=self._until(claim.lease_until))
        try:
            self.mailer.send(self._email(claim), must_finish_by=self._deadline(claim))
        except TransientDeliveryError as exc:
            if self._retries_used() < self.settings.max_retries:
                self.store.release(claim, str(exc))
                self.metrics.jobs.labels("retried").inc()
                log.warning("delivery %s: %s; retrying", notification_id, exc)
                raise DeliveryRetry(str(exc)) from exc
            self._fail(claim, f"gave up after {claim.attempt} attempts: {exc}")
            raise
        except Exception as exc:  # permanent, or a bug: dead-letter it rather than loop
            self._fail(claim, str(exc) if isinstance(exc, PermanentDeliveryError)
                       else f"{type(exc).__name__}: {exc}")
            raise
        self._record_sent(claim)

    def _record_sent(self, claim: Claim) -> None:
        # The email is out: losing this write means sending it again, so try a few times.
        for pause in (0.2, 1.0, None):
            try:
                if not self.store.mark_sent(claim):
                    log.warning("delivery %s: lease ran out before the 250 was recorded",
                                claim.notification_id)
                break
            except OperationalError:
                if pause is None:
                    raise
                time.sleep(pause)
        self.metrics.jobs.labels("sent").inc()
        log.info("sent notification %s to %s (attempt %d)", claim.notification_id,
                 claim.recipient, claim.attempt)

    def _fail(self, claim: Claim, error: str) -> None:
        self.store.mark_failed(claim, error)
        self.metrics.jobs.labels("failed").inc()
        log.warning("delivery %s failed: %s", claim.notification_id, error)

    def _email(self, claim: Claim) -> OutgoingEmail:
        return OutgoingEmail(self.settings.mail_from, claim.recipient, claim.subject, claim.body,
                             claim.message_id)

    @staticmethod
    def _deadline(claim: Claim) -> float:
        return time.monotonic() + (claim.lease_until - utc_now()).total_seconds()

    def _until(self, lease_until: datetime | None) -> int:
        wait_ms = 0 if lease_until is None else int(
            (lease_until - utc_now()).total_seconds() * 1000) + 50
        return max(self.settings.min_backoff_ms, min(wait_ms, self.settings.max_backoff_ms))

    @staticmethod
    def _retries_used() -> int:
        message = CurrentMessage.get_current_message()
        return int(message.options.get("retries", 0)) if message is not None else 0
