"""``python -m bench [--quick] [--only SUITE]``: run the suites, print a table per suite.

Exit status: 0 when every suite ran (whatever the targets say), 1 when a suite failed (events
lost, a component crashed, a service missing), 2 for a bad command line.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from datetime import UTC, datetime

from bench import SUITES, BenchError, Options
from bench.report import format_table, write_json


def main(argv: list[str] | None = None) -> int:
    """Run the suites the command line selects; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Run the benchmark suites; one table per suite.")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes: a smoke run of well under a minute")
    parser.add_argument("--only", action="append", choices=sorted(SUITES), metavar="SUITE",
                        help=f"run only this suite (repeatable; one of {', '.join(SUITES)})")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("pika").setLevel(logging.WARNING)
    options = Options(quick=args.quick)
    failed = False
    for name in args.only or list(SUITES):
        started = datetime.now(UTC)
        clock = time.perf_counter()
        print(f"running suite {name}{' (quick)' if options.quick else ''} ...", flush=True)
        try:
            rows = SUITES[name](options)
        except BenchError as exc:
            if exc.rows:
                print(format_table(f"{name}: measured before the failure", exc.rows))
            print(f"suite {name} FAILED: {exc}", file=sys.stderr, flush=True)
            failed = True
            continue
        except Exception:
            logging.getLogger("bench").exception("suite %s crashed", name)
            failed = True
            continue
        seconds = time.perf_counter() - clock
        print(format_table(f"{name} ({seconds:.0f} s)", rows))
        path = write_json(name, rows, options, started, seconds)
        print(f"results: {path}\n", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
