"""The proxy suite: throughput and latency through the stable URL, against direct and nginx.

In one run, against the same monolith upstream (gunicorn, seeded SQLite): direct; through the
proxy with no route (legacy); through the proxy with a 50% canary between two monolith
instances (sticky on a random header per request); through nginx as a reverse proxy with a
keep-alive pool, when the Debian package is installed. wrk drives each at fixed concurrency.

Two upstream paths: a realistic product page (the monolith reads SQLite, ~1.5 ms of work) and
``/healthz`` (almost no work), where the proxy's own cost shows most. The cases run in rounds,
each round in the same order, and the table shows the median of the rounds.
"""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import tempfile
from contextlib import ExitStack
from pathlib import Path

from bench import BenchError, Options, Row, verdict
from bench.proxy_setup import start, start_nginx

_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_PERCENTILE = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_SCALE = {"us": 0.001, "ms": 1.0, "s": 1000.0}
PATHS = {"products": "/api/products?per_page=5", "healthz": "/healthz"}
CANARY_SCRIPT = """
math.randomseed(os.time())
request = function()
  return wrk.format(nil, nil, {["X-Customer-ID"] = tostring(math.random(1, 1000000))})
end
"""


def run(options: Options) -> list[Row]:
    """Measure every case; ratios are to direct in this run."""
    if shutil.which("wrk") is None:
        return [Row("proxy", "skipped", 0, "", note="wrk is not installed "
                    "(Debian: apt-get install wrk); nothing measured")]
    duration = "3s" if options.quick else "10s"
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-proxy-")))
        script = work / "canary.lua"
        script.write_text(CANARY_SCRIPT)
        ports = start(stack, work)
        nginx = start_nginx(stack, work, ports.monolith) if shutil.which("nginx") else None
        cases = [("direct", ports.monolith, None), ("proxy legacy", ports.proxy_legacy, None),
                 ("proxy canary 50%", ports.proxy_canary, script)]
        if nginx is not None:
            cases.append(("nginx", nginx, None))
        for _, port, _ in cases:  # warm every pool and worker
            _wrk(port, PATHS["products"], "2s", 8, None)
        rounds = 1 if options.quick else 3
        rows: list[Row] = []
        for label, path in PATHS.items():
            runs = [{name: _wrk(port, path, duration, 8, lua) for name, port, lua in cases}
                    for _ in range(rounds)]
            single = [{name: _wrk(port, path, duration, 1, None) for name, port, _ in cases[:2]}
                      for _ in range(rounds)]
            rows += _rows(label, _median(runs), _median(single))
    if nginx is None:
        rows.append(Row("nginx", "skipped", 0, "", note="nginx is not installed "
                        "(Debian: apt-get install nginx)"))
    return rows


def _median(runs: list[dict[str, tuple[float, float, float]]]
            ) -> dict[str, tuple[float, float, float]]:
    return {name: tuple(statistics.median(run[name][i] for run in runs)  # type: ignore[misc]
                        for i in range(3)) for name in runs[0]}


def _wrk(port: int, path: str, duration: str, connections: int, script: Path | None
         ) -> tuple[float, float, float]:
    command = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{duration}",
               "--latency"]
    if script is not None:
        command += ["-s", str(script)]
    output = subprocess.run([*command, f"http://127.0.0.1:{port}{path}"], capture_output=True,
                            text=True, timeout=120, check=True).stdout
    if "Non-2xx" in output or "Socket errors" in output:
        raise BenchError(f"requests failed on port {port}:\n{output}")
    rps = float(_RPS.search(output).group(1))  # type: ignore[union-attr]
    latency = {p: float(v) * _SCALE[u] for p, v, u in _PERCENTILE.findall(output)}
    return rps, latency["50"], latency["99"]


def _rows(label: str, results: dict[str, tuple[float, float, float]],
          single: dict[str, tuple[float, float, float]]) -> list[Row]:
    direct_rps, direct_p50, _ = results["direct"]
    rows: list[Row] = []
    for name, (rps, p50, p99) in results.items():
        ratio = rps / direct_rps
        is_proxy = name.startswith("proxy")
        rows.append(Row(f"{label} req/s c=8", name, round(rps), "req/s", "direct c=8",
                        round(ratio, 2), ">= 0.6x" if is_proxy else "",
                        verdict(ratio, 0.6) if is_proxy else "",
                        f"p50 {p50:.2f} ms, p99 {p99:.2f} ms"))
        if name != "direct":
            added = p50 - direct_p50
            rows.append(Row(f"{label} added p50 c=8", name, round(added, 2), "ms",
                            "direct c=8", None, "<= 1 ms" if is_proxy else "",
                            verdict(added, 1.0, higher_is_better=False) if is_proxy else ""))
    added_single = single["proxy legacy"][1] - single["direct"][1]
    rows.append(Row(f"{label} added p50 c=1", "proxy legacy", round(added_single, 3), "ms",
                    "direct c=1", None, "<= 1 ms",
                    verdict(added_single, 1.0, higher_is_better=False),
                    f"direct p50 {single['direct'][1]:.3f} ms"))
    return rows
