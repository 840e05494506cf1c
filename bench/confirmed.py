"""Publishing a batch with publisher confirms, pipelined: for setting up queues reliably.

Without confirms the broker may drop messages (we saw 74 of 5,000 vanish from a quorum queue
on a busy machine), so anything a measurement counts on is loaded this way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pika
from pika.adapters.select_connection import SelectConnection

from bench import BenchError
from bench.workload import Envelope, properties_of


def publish_confirmed(amqp_url: str, exchange: str, messages: Sequence[Envelope], *,
                      window: int = 2000, timeout: float = 300.0) -> None:
    """Publish ``messages`` like the relay and return once the broker confirmed them all.

    At most ``window`` messages are unconfirmed at a time; a nack or a returned message is an
    error (the caller set up the queues, so nothing may be unroutable).
    """
    state: dict[str, Any] = {"sent": 0, "acked": 0, "upto": 0, "error": None}
    singles: set[int] = set()
    total = len(messages)

    def fail(reason: str) -> None:
        if state["error"] is None:
            state["error"] = reason
        if connection.is_open:
            connection.close()

    def fill(channel: Any) -> None:
        while state["sent"] < total and state["sent"] - state["acked"] < window:
            message = messages[state["sent"]]
            channel.basic_publish(exchange, message.type, message.body,
                                  properties_of(message), mandatory=True)
            state["sent"] += 1

    def on_confirm(frame: Any) -> None:
        method = frame.method
        if not isinstance(method, pika.spec.Basic.Ack):
            fail(f"broker nacked delivery {method.delivery_tag}")
            return
        tag = method.delivery_tag
        if method.multiple:
            state["upto"] = max(state["upto"], tag)
            singles.difference_update([t for t in singles if t <= tag])
        elif tag > state["upto"]:
            singles.add(tag)
        while state["upto"] + 1 in singles:
            state["upto"] += 1
            singles.remove(state["upto"])
        state["acked"] = state["upto"] + len(singles)
        if state["acked"] >= total:
            connection.close()
        else:
            fill(channel_box[0])

    channel_box: list[Any] = []

    def on_channel(channel: Any) -> None:
        channel_box.append(channel)
        channel.add_on_return_callback(lambda *_: fail("a message was returned unroutable"))
        channel.confirm_delivery(on_confirm, callback=lambda _: fill(channel))

    connection = SelectConnection(
        pika.URLParameters(amqp_url),
        on_open_callback=lambda conn: conn.channel(on_open_callback=on_channel),
        on_open_error_callback=lambda _, exc: fail(f"cannot connect: {exc!r}"),
        on_close_callback=lambda conn, _: conn.ioloop.stop())
    connection.ioloop.call_later(timeout, lambda: fail(f"not confirmed within {timeout}s"))
    connection.ioloop.start()
    if state["error"] is not None or state["acked"] < total:
        raise BenchError(f"publishing {total} messages with confirms: "
                         f"{state['error'] or 'connection closed'} ({state['acked']} confirmed)")
