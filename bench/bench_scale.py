"""Scale: the parse run of ``bench_parse`` with 1, 2 and 4 parser processes.

The 61 article pages from loopback under ``BENCH_SCALE_COPIES`` URLs each (default 1),
one task with ``stages=["parse"]`` through ``kbm worker parser`` with one thread per
process (parsing is CPU-bound), best of ``BENCH_SCALE_ROUNDS`` (default 2) after a
warm-up. Figures: pages/s and the ratio to one process; the ideal is
min(processes, cores), so on 2 cores 4 processes cannot beat 2.
``BENCH_SCALE_PROCESSES`` (default 1,2,4) sets the counts.
"""

from __future__ import annotations

import os
import signal
import sys

from bench.bench_parse import _worker_run
from bench.harness import (
    PageServer,
    bench_env,
    flush_redis,
    fresh_database,
    load_pages,
    table,
    workers,
)

COUNTS = [int(n) for n in os.environ.get("BENCH_SCALE_PROCESSES", "1,2,4").split(",")]
COPIES = int(os.environ.get("BENCH_SCALE_COPIES", "1"))
ROUNDS = int(os.environ.get("BENCH_SCALE_ROUNDS", "2"))


def main() -> None:
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    pages = load_pages()
    server = PageServer({page_id: html for page_id, (_url, html, _text) in pages.items()})
    best: dict[int, float] = {}
    flush_redis()
    try:
        with fresh_database() as database_url:
            env = bench_env(database_url)
            for count in COUNTS:
                with workers("parser", env, processes=count, threads=1):
                    warm_up = [f"{server.url(page_id)}?warm-{count}" for page_id in list(pages)]
                    _worker_run(database_url, warm_up[: count * 8])
                    seconds = []
                    for round_number in range(ROUNDS):
                        urls = [
                            f"{server.url(page_id)}?scale-{count}-{round_number}-{copy}"
                            for copy in range(COPIES)
                            for page_id in pages
                        ]
                        seconds.append(_worker_run(database_url, urls))
                    best[count] = len(urls) / min(seconds)
    finally:
        server.close()
        flush_redis()

    cores = os.cpu_count() or 1
    base = best[COUNTS[0]]
    table(
        f"scale: {len(pages) * COPIES} pages parsed per run, 1 thread per process, "
        f"best of {ROUNDS} rounds, {cores} cores",
        [
            (
                f"{count} parser process(es), pages/s",
                f"{rate:.1f}",
                f"{base:.1f}",
                f"{rate / base:.2f}",
                f"-> {min(count, cores) / min(COUNTS[0], cores):g} (min(processes, cores))",
            )
            for count, rate in best.items()
        ],
        notes=[
            f"baseline: {COUNTS[0]} process(es); "
            f"load average {os.getloadavg()[0]:.2f} (1 min, at the end)",
        ],
    )


if __name__ == "__main__":
    main()
