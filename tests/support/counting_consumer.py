"""The counting consumer as a process of its own, so a test can SIGKILL it.

Usage: ``python -m tests.support.counting_consumer SOURCE_URL TARGET_URL NAME METRICS_PORT``
with ``AMQP_URL`` and ``STRANGLER_EVENTS_EXCHANGE`` in the environment.
"""

from __future__ import annotations

import sys

from prometheus_client import start_http_server

from strangler_cli.settings import amqp_url, topology
from strangler_cli.signals import stop_on_signals
from strangler_messaging.consumer import ConsumerRunner
from strangler_messaging.consumer_metrics import ConsumerMetrics
from tests.support.messaging import CountingPipeline


def main() -> None:
    source_url, target_url, name, port = sys.argv[1:5]
    pipeline = CountingPipeline(source_url, target_url)
    metrics = ConsumerMetrics()
    runner = ConsumerRunner(pipeline.consumer(name), amqp_url(), topology=topology(),
                            metrics=metrics)
    start_http_server(int(port), registry=metrics.registry)
    stop_on_signals(runner.stop)
    runner.run()
    pipeline.dispose()


if __name__ == "__main__":
    main()
