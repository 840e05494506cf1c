"""The messaging suite: publish ceiling, relay throughput, consumer apply rate, end-to-end lag.

Everything runs in one :class:`~bench.infra.Sandbox` (own databases, vhost, exchange names),
removed at the end whatever happens. Targets come from the product spec (Performance):

- relay >= 10,000 events/s with publisher confirms from a 100k backlog;
- consumer >= 3,000 events/s with inbox + version check on PostgreSQL;
- end-to-end lag p99 <= 250 ms at 200 writes/s.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bench import BenchError, Options, Row
from bench.applying import applying_rows
from bench.infra import Sandbox, amqp_channel
from bench.lag import lag_rows
from bench.publishing import SETTINGS, publishing_rows
from bench.workload import envelopes
from strangler_messaging.topology import Topology

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Sizes:
    """How much work each figure gets."""

    backlog: int
    relay_settings: tuple[tuple[int, int], ...]
    relay_rounds: int
    consumer_events: int
    lag_seconds: float
    pipe_seconds: float


FULL = Sizes(backlog=100_000, relay_settings=SETTINGS, relay_rounds=2, consumer_events=50_000,
             lag_seconds=30.0, pipe_seconds=10.0)
QUICK = Sizes(backlog=10_000, relay_settings=SETTINGS[:1], relay_rounds=1, consumer_events=3_000,
              lag_seconds=5.0, pipe_seconds=1.0)


def run(options: Options) -> list[Row]:
    """Run every messaging figure once; raises :class:`~bench.BenchError` on lost events."""
    sizes = QUICK if options.quick else FULL
    with Sandbox() as sandbox:
        topology = Topology(exchange=f"{sandbox.prefix}.events")
        log.info("sandbox %s on %s", sandbox.run_id, sandbox.amqp_url)
        rows: list[Row] = []
        try:
            messages = envelopes(max(sizes.backlog, sizes.consumer_events))
            size = sum(len(m.body) for m in messages) / len(messages)
            rows.append(Row("message", "envelope size (mean)", size, "bytes",
                            note="CloudEvents JSON, full product state, traceparent"))
            rows += publishing_rows(sandbox, topology, messages[: sizes.backlog],
                                    sizes.relay_settings, sizes.relay_rounds)
            rows += applying_rows(sandbox, topology, messages[: sizes.consumer_events])
            rows += lag_rows(sandbox, topology, messages[0], sizes.lag_seconds,
                             sizes.pipe_seconds)
            return rows
        except BenchError as exc:
            exc.rows = rows + exc.rows
            raise
        finally:
            _delete_topology(sandbox, topology)


def _delete_topology(sandbox: Sandbox, topology: Topology) -> None:
    """Remove the run's exchanges (needed when it had to share the default vhost)."""
    try:
        with amqp_channel(sandbox.amqp_url) as channel:
            topology.delete(channel)
    except Exception as exc:  # the vhost's deletion removes them anyway
        log.warning("could not delete the run's exchanges: %r", exc)
