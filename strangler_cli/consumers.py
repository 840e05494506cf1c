"""The named consumers ``strangler run consumer <name>`` can run.

Each entry builds an :class:`~strangler_messaging.consumer.EventConsumer` from the environment.
Extracted services register theirs here as they arrive.
"""

from __future__ import annotations

from collections.abc import Callable

from strangler_messaging.consumer import EventConsumer

ConsumerFactory = Callable[[], EventConsumer]

CONSUMERS: dict[str, ConsumerFactory] = {}
