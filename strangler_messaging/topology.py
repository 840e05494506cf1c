"""The RabbitMQ topology, declared idempotently by every component at start-up.

- ``shop.events``: durable topic exchange; routing key = the event ``type``.
- ``shop.events.unrouted``: its alternate exchange and queue. An event no consumer is bound to
  lands there instead of vanishing, so a consumer added later can still be backfilled and an
  operator can see what nobody listens to.
- per consumer ``<exchange>.<consumer>``: a durable quorum queue bound to the types it handles,
  with a delivery limit; messages beyond it -- and those the consumer rejects as poison -- go
  to ``<exchange>.<consumer>.dlq`` through the dead-letter exchange ``<exchange>.dlx``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pika.adapters.blocking_connection import BlockingChannel

DEFAULT_EXCHANGE = "shop.events"


@dataclass(frozen=True, slots=True)
class ConsumerSpec:
    """A consumer's queue: its name and the event types it is bound to."""

    name: str
    event_types: tuple[str, ...]
    delivery_limit: int = 10


@dataclass(frozen=True, slots=True)
class Topology:
    """Names of every exchange and queue, derived from one exchange name."""

    exchange: str = DEFAULT_EXCHANGE

    @property
    def unrouted_exchange(self) -> str:
        """Alternate exchange of :attr:`exchange`."""
        return f"{self.exchange}.unrouted"

    @property
    def unrouted_queue(self) -> str:
        """Where events nobody is bound to wait."""
        return f"{self.exchange}.unrouted"

    @property
    def dead_letter_exchange(self) -> str:
        """Direct exchange that routes dead letters to each consumer's DLQ."""
        return f"{self.exchange}.dlx"

    def queue(self, consumer: str) -> str:
        """The consumer's work queue."""
        return f"{self.exchange}.{consumer}"

    def dead_letter_queue(self, consumer: str) -> str:
        """The consumer's dead-letter queue."""
        return f"{self.queue(consumer)}.dlq"

    def declare_exchanges(self, channel: BlockingChannel) -> None:
        """Declare the event exchange, its alternate exchange and the dead-letter exchange."""
        channel.exchange_declare(self.unrouted_exchange, "fanout", durable=True)
        channel.queue_declare(self.unrouted_queue, durable=True,
                              arguments={"x-queue-type": "quorum"})
        channel.queue_bind(self.unrouted_queue, self.unrouted_exchange)
        channel.exchange_declare(self.exchange, "topic", durable=True,
                                 arguments={"alternate-exchange": self.unrouted_exchange})
        channel.exchange_declare(self.dead_letter_exchange, "direct", durable=True)

    def declare_consumer(self, channel: BlockingChannel, spec: ConsumerSpec) -> None:
        """Declare a consumer's queue, its bindings and its dead-letter queue."""
        self.declare_exchanges(channel)
        dlq = self.dead_letter_queue(spec.name)
        channel.queue_declare(dlq, durable=True, arguments={"x-queue-type": "quorum"})
        channel.queue_bind(dlq, self.dead_letter_exchange, routing_key=dlq)
        queue = self.queue(spec.name)
        arguments: dict[str, Any] = {
            "x-queue-type": "quorum",
            "x-delivery-limit": spec.delivery_limit,
            "x-dead-letter-exchange": self.dead_letter_exchange,
            "x-dead-letter-routing-key": dlq,
        }
        channel.queue_declare(queue, durable=True, arguments=arguments)
        for event_type in spec.event_types:
            channel.queue_bind(queue, self.exchange, routing_key=event_type)

    def delete(self, channel: BlockingChannel, consumers: Sequence[str] = ()) -> None:
        """Remove everything :meth:`declare_consumer` made (tests and teardown only)."""
        for name in consumers:
            channel.queue_delete(self.queue(name))
            channel.queue_delete(self.dead_letter_queue(name))
        channel.queue_delete(self.unrouted_queue)
        for exchange in (self.exchange, self.unrouted_exchange, self.dead_letter_exchange):
            channel.exchange_delete(exchange)
