"""Dead-lettering with a reason, listing a dead-letter queue, and replaying it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel

from strangler_messaging.sqltypes import utc_now
from strangler_messaging.topology import Topology

REASON = "x-strangler-reason"
ATTEMPTS = "x-strangler-attempts"
ORIGINAL_ROUTING_KEY = "x-strangler-routing-key"
FAILED_AT = "x-strangler-failed-at"


class DeadLetterer:
    """Publishes a consumer's poison messages to its dead-letter queue, with confirms."""

    def __init__(self, channel: BlockingChannel, topology: Topology, consumer: str) -> None:
        self._channel = channel
        self._channel.confirm_delivery()
        self._topology = topology
        self._queue = topology.dead_letter_queue(consumer)

    def send(self, body: bytes, properties: Any, *, routing_key: str, reason: str,
             attempts: int) -> None:
        """Dead-letter one message; returns once the broker has confirmed it."""
        headers = dict(getattr(properties, "headers", None) or {})
        headers.update({REASON: reason[:1000], ATTEMPTS: attempts,
                        ORIGINAL_ROUTING_KEY: routing_key, FAILED_AT: utc_now().isoformat()})
        self._channel.basic_publish(
            self._topology.dead_letter_exchange, self._queue, body,
            pika.BasicProperties(content_type=getattr(properties, "content_type", None),
                                 delivery_mode=2, headers=headers),
            mandatory=True)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One message in a dead-letter queue, as an operator sees it."""

    event_id: str | None
    event_type: str
    reason: str
    attempts: int
    failed_at: str
    body: bytes


def list_dead_letters(channel: BlockingChannel, topology: Topology, consumer: str,
                      limit: int = 100) -> list[DeadLetter]:
    """Read up to ``limit`` dead letters without removing them."""
    queue = topology.dead_letter_queue(consumer)
    found: list[DeadLetter] = []
    tags: list[int] = []
    for _ in range(limit):
        method, properties, body = channel.basic_get(queue, auto_ack=False)
        if method is None:
            break
        tags.append(method.delivery_tag)
        found.append(_describe(properties, body))
    for tag in tags:
        channel.basic_nack(tag, requeue=True)
    return found


def replay_dead_letters(channel: BlockingChannel, topology: Topology, consumer: str,
                        event_ids: set[str] | None = None, limit: int = 10_000) -> int:
    """Move dead letters (all, or those with ``event_ids``) back to the consumer's queue.

    Each message is republished with confirms before it is removed from the DLQ, so a crash
    in between duplicates it (the inbox drops the copy) and never loses it.
    """
    channel.confirm_delivery()
    dlq, queue = topology.dead_letter_queue(consumer), topology.queue(consumer)
    moved = 0
    skipped: list[int] = []
    for _ in range(limit):
        method, properties, body = channel.basic_get(dlq, auto_ack=False)
        if method is None:
            break
        letter = _describe(properties, body)
        if event_ids is not None and letter.event_id not in event_ids:
            skipped.append(method.delivery_tag)
            continue
        headers = {k: v for k, v in (properties.headers or {}).items()
                   if not k.startswith("x-strangler-")}
        channel.basic_publish("", queue, body, pika.BasicProperties(
            content_type=properties.content_type, delivery_mode=2, headers=headers or None),
            mandatory=True)
        channel.basic_ack(method.delivery_tag)
        moved += 1
    for tag in skipped:
        channel.basic_nack(tag, requeue=True)
    return moved


def _describe(properties: Any, body: bytes) -> DeadLetter:
    headers = properties.headers or {}
    try:
        doc = json.loads(body)
        event_id, event_type = doc.get("id"), doc.get("type", "?")
    except (ValueError, AttributeError):
        event_id, event_type = None, "(not JSON)"
    return DeadLetter(
        event_id=event_id if isinstance(event_id, str) else None,
        event_type=str(event_type),
        reason=_text(headers.get(REASON, "rejected by the broker (delivery limit)")),
        attempts=int(headers.get(ATTEMPTS, 0) or 0),
        failed_at=_text(headers.get(FAILED_AT, "")),
        body=body,
    )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
