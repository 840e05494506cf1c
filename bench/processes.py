"""The relay and a consumer as processes of their own, as ``strangler run relay|consumer`` are.

The lag measurement runs them this way: in threads of the benchmark's process they would
share one GIL with the writers, and each wake-up from I/O would queue behind the others'
Python work -- a latency no deployment has. Each child reports its Prometheus samples when
it stops, so the parent can describe what the component did.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from prometheus_client import CollectorRegistry

from bench import BenchError

Samples = dict[str, float]


def _samples(registry: CollectorRegistry) -> Samples:
    """Every sample as ``name{label=value,...}`` -> value."""
    found: Samples = {}
    for metric in registry.collect():
        for sample in metric.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return found


def _serve(component: Any, registry: CollectorRegistry, stop: Any, results: Any) -> None:
    """Run ``component`` until ``stop`` is set, then report its samples."""
    watcher = threading.Thread(target=lambda: (stop.wait(), component.stop()), daemon=True)
    watcher.start()
    component.run()
    results.put(_samples(registry))


def relay_main(url: str, amqp_url: str, exchange: str, stop: Any, results: Any) -> None:
    """Child process: the relay of the outbox in ``url`` with the default settings."""
    from bench.workload import outbox_table
    from strangler_messaging.db import make_engine
    from strangler_messaging.relay import Relay
    from strangler_messaging.relay_metrics import RelayMetrics
    from strangler_messaging.topology import Topology

    metrics = RelayMetrics()
    relay = Relay(make_engine(url), outbox_table(), amqp_url, topology=Topology(exchange),
                  metrics=metrics)
    _serve(relay, metrics.registry, stop, results)


def consumer_main(url: str, amqp_url: str, exchange: str, name: str, stop: Any,
                  results: Any) -> None:
    """Child process: the read-model consumer ``name`` (batched, logging apply times)."""
    from bench.views import ReadModel
    from strangler_messaging.consumer import ConsumerRunner
    from strangler_messaging.consumer_metrics import ConsumerMetrics
    from strangler_messaging.topology import Topology

    consumer = ReadModel(url).consumer(name, batched=True, log_applied=True)
    metrics = ConsumerMetrics()
    runner = ConsumerRunner(consumer, amqp_url, topology=Topology(exchange), metrics=metrics)
    _serve(runner, metrics.registry, stop, results)


class ChildProcess:
    """``with ChildProcess(relay_main, ...) as child``: started on entry, stopped on exit.

    After the block, :attr:`samples` holds the child's metrics. A child that crashed, or does
    not stop within ``stop_timeout``, raises :class:`BenchError` (a hung one is terminated).
    """

    def __init__(self, target: Callable[..., None], *args: Any, stop_timeout: float = 30.0
                 ) -> None:
        context = multiprocessing.get_context("spawn")
        self._stop = context.Event()
        self._results: Any = context.Queue()
        self._process = context.Process(target=target, args=(*args, self._stop, self._results),
                                        name=target.__name__, daemon=True)
        self._stop_timeout = stop_timeout
        self.samples: Samples = {}

    def __enter__(self) -> ChildProcess:
        self._process.start()
        return self

    def check(self) -> None:
        """Raise :class:`BenchError` if the child has died."""
        if not self._process.is_alive():
            raise BenchError(f"{self._process.name} exited early (code "
                             f"{self._process.exitcode})")

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._stop.set()
        deadline = time.monotonic() + self._stop_timeout
        try:
            while time.monotonic() < deadline:
                try:
                    self.samples = self._results.get(timeout=0.5)
                    break
                except queue.Empty:
                    if not self._process.is_alive():
                        break
            self._process.join(max(0.1, deadline - time.monotonic()))
        finally:
            if self._process.is_alive():
                self._process.terminate()
                self._process.join(5)
                if error is None:
                    raise BenchError(f"{self._process.name} did not stop")
        if error is None and self._process.exitcode != 0:
            raise BenchError(f"{self._process.name} failed (exit code {self._process.exitcode})")
