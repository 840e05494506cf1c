"""Settings every messaging command shares, read from the environment."""

from __future__ import annotations

import os

from strangler_messaging.topology import DEFAULT_EXCHANGE, Topology

DEFAULT_AMQP_URL = "amqp://guest:guest@localhost:5672/%2F"


def amqp_url() -> str:
    """``AMQP_URL``, or the local default broker."""
    return os.environ.get("AMQP_URL") or DEFAULT_AMQP_URL


def topology() -> Topology:
    """The topology, on ``STRANGLER_EVENTS_EXCHANGE`` (default ``shop.events``)."""
    return Topology(os.environ.get("STRANGLER_EVENTS_EXCHANGE") or DEFAULT_EXCHANGE)
