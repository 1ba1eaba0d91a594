"""parse-stage throughput through the real worker, as a share of a bare loop's.

The 61 article pages are served from loopback, each under several URLs (a query string
makes each copy a link of its own). First a bare loop fetches and extracts them all in a
pool of worker processes (``fetch_page`` + ``extract_article``, nothing else); then
``kbm worker parser`` with as many processes parses the same URLs in one task with
``stages=["parse"]``, through Redis, the middleware and PostgreSQL. Both run on the same
cores in the same run; the ratio of their throughputs is what the stage costs beyond
the extraction itself. Target: 0.85 or more.

The two alternate for a few rounds and each keeps its best: on a machine that other
work shares, a round that happened to compete with it says nothing about the stage.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import statistics
import time
import warnings
from multiprocessing.pool import Pool

from bench.harness import (
    PageServer,
    bench_env,
    flush_redis,
    fresh_database,
    load_pages,
    report,
    task_service,
    wait_for_task,
    workers,
)
from services.parser.extract import extract_article
from services.parser.fetch import fetch_page
from shared.db import database
from shared.settings import Settings

PROCESSES = 2
# One thread per process: parsing is CPU-bound, so a second thread only waits for the
# GIL, and its database round trips queue behind the other thread's computation.
THREADS = int(os.environ.get("BENCH_PARSE_THREADS", "1"))
COPIES = int(os.environ.get("BENCH_PARSE_COPIES", "2"))
ROUNDS = int(os.environ.get("BENCH_PARSE_ROUNDS", "4"))

_settings: Settings | None = None


def _start_process(warm_up_url: str) -> None:
    """Pool initializer: settings as the workers have them, libraries loaded and warm."""
    global _settings
    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")
    _settings = Settings.from_env(fetch_allow_private=True)
    _parse(warm_up_url)


def _parse(url: str) -> int:
    assert _settings is not None
    page = fetch_page(url, _settings)
    return extract_article(page.html, page.final_url).word_count


def _bare_loop(pool: Pool, urls: list[str]) -> float:
    """Fetch and extract ``urls`` in the pool's processes; return the seconds it took."""
    started = time.monotonic()
    words = pool.map(_parse, urls, chunksize=1)
    elapsed = time.monotonic() - started
    if not all(words):
        raise RuntimeError("the bare loop extracted an empty article")
    return elapsed


def _worker_run(database_url: str, urls: list[str]) -> float:
    """Parse ``urls`` in one task; return the seconds from submission to the end."""
    service = task_service(database_url)
    started = time.monotonic()
    with database.connection_context():
        task_id = service.create_task(urls=urls, stages=["parse"])["task_id"]
    task = wait_for_task(task_id)
    elapsed = time.monotonic() - started
    if task.completed_items != len(urls):
        raise RuntimeError(f"task {task_id}: {task.completed_items}/{len(urls)} completed")
    return elapsed


def main() -> None:
    pages = load_pages()
    server = PageServer({page_id: html for page_id, (_url, html, _text) in pages.items()})
    urls = [f"{server.url(page_id)}?copy={copy}" for copy in range(COPIES) for page_id in pages]
    warm_up = [f"{server.url(page_id)}?warm-up" for page_id in list(pages)[: PROCESSES * 8]]
    bare: list[float] = []
    through_worker: list[float] = []
    context = multiprocessing.get_context("spawn")
    flush_redis()
    try:
        with (
            context.Pool(PROCESSES, initializer=_start_process, initargs=(urls[0],)) as pool,
            fresh_database() as database_url,
            workers("parser", bench_env(database_url), processes=PROCESSES, threads=THREADS),
        ):
            # Start-up (imports, first connections, models) is not throughput.
            _bare_loop(pool, warm_up)
            _worker_run(database_url, warm_up)
            for _round in range(ROUNDS):
                bare.append(_bare_loop(pool, urls))
                through_worker.append(_worker_run(database_url, urls))
    finally:
        server.close()

    bare_rate, worker_rate = len(urls) / min(bare), len(urls) / min(through_worker)
    ratios = [
        bare_time / worker_time for bare_time, worker_time in zip(bare, through_worker, strict=True)
    ]
    report(
        f"parse stage: {len(urls)} pages ({len(pages)} pages x {COPIES} URLs) from loopback, "
        f"{PROCESSES} processes, best of {ROUNDS} rounds",
        [
            ("bare loop (fetch + extract)", f"{min(bare):.1f} s = {bare_rate:.1f} pages/s"),
            (
                f"worker ({THREADS} thread(s) per process)",
                f"{min(through_worker):.1f} s = {worker_rate:.1f} pages/s",
            ),
            ("ratio", f"{worker_rate / bare_rate:.2f} (target >= 0.85)"),
            (
                "ratio per round",
                ", ".join(f"{ratio:.2f}" for ratio in ratios)
                + f" (median {statistics.median(ratios):.2f})",
            ),
            ("cores", str(os.cpu_count())),
            ("seconds per round, bare", ", ".join(f"{seconds:.2f}" for seconds in bare)),
            (
                "seconds per round, worker",
                ", ".join(f"{seconds:.2f}" for seconds in through_worker),
            ),
        ],
    )


if __name__ == "__main__":
    main()
