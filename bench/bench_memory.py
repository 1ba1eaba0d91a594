"""Memory: peak RSS of each service's worker processes after 500 items.

The real services (``kbm worker parser|ai|notion``, one command each) run
``BENCH_MEMORY_ITEMS`` items (default 500: the 61 article pages served from loopback
under several URLs) through parse → enrich (the offline ``local`` provider) → publish
(the Markdown publisher, into a temporary folder). Each worker process's peak resident
set (``VmHWM`` in ``/proc/<pid>/status``) is read when the task has finished, beside its
resident set once started and idle (the baseline). The launcher process and Dramatiq's
metrics server are left out. ``BENCH_MEMORY_PROCESSES`` / ``BENCH_MEMORY_THREADS`` set
each service's processes and threads (default 1 and 4).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlsplit

import psutil

from bench.harness import (
    REDIS_URL,
    PageServer,
    bench_env,
    flush_redis,
    fresh_database,
    load_pages,
    table,
    task_service,
    wait_for_task,
    workers,
)
from shared.db import database

ITEMS = int(os.environ.get("BENCH_MEMORY_ITEMS", "500"))
PROCESSES = int(os.environ.get("BENCH_MEMORY_PROCESSES", "1"))
THREADS = int(os.environ.get("BENCH_MEMORY_THREADS", "4"))
SERVICES = ("parser", "ai", "notion")
MiB = 1024 * 1024


def worker_processes(command: subprocess.Popen[bytes]) -> list[psutil.Process]:
    """Return the worker processes of a ``dramatiq`` command.

    They are the children connected to Redis: the metrics server Dramatiq forks is not.
    """
    redis_port = urlsplit(REDIS_URL).port or 6379
    found = []
    for child in psutil.Process(command.pid).children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if any(
                conn.raddr and conn.raddr.port == redis_port
                for conn in child.net_connections(kind="tcp")
            ):
                found.append(child)
    return found


def peak_rss(process: psutil.Process) -> int:
    """Return a process's peak resident set in bytes (Linux ``VmHWM``)."""
    with open(f"/proc/{process.pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return int(process.memory_info().rss)


def main() -> None:
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    pages = load_pages()
    server = PageServer({page_id: html for page_id, (_url, html, _text) in pages.items()})
    ids = list(pages)
    urls = [f"{server.url(ids[n % len(ids)])}?copy={n}" for n in range(ITEMS)]
    flush_redis()
    idle: dict[str, list[int]] = {}
    peak: dict[str, list[int]] = {}
    try:
        with fresh_database() as database_url, tempfile.TemporaryDirectory() as export:
            env = bench_env(database_url, EXPORT_DIR=export)
            with contextlib.ExitStack() as stack:
                commands = {
                    service: stack.enter_context(
                        workers(service, env, processes=PROCESSES, threads=THREADS)
                    )
                    for service in SERVICES
                }
                time.sleep(1.0)  # settle after start-up
                found = {
                    service: worker_processes(command) for service, command in commands.items()
                }
                for service, processes in found.items():
                    idle[service] = [int(process.memory_info().rss) for process in processes]
                started = time.monotonic()
                with database.connection_context():
                    task_id = task_service(database_url).create_task(urls=urls)["task_id"]
                task = wait_for_task(task_id)
                elapsed = time.monotonic() - started
                for service, processes in found.items():
                    peak[service] = [peak_rss(process) for process in processes]
    finally:
        server.close()
        flush_redis()

    rows = []
    for service in SERVICES:
        for number, (at_start, highest) in enumerate(
            zip(idle[service], peak[service], strict=True)
        ):
            rows.append(
                (
                    f"{service} worker process {number + 1}, peak RSS",
                    f"{highest / MiB:.0f} MiB",
                    f"{at_start / MiB:.0f} MiB",
                    f"{highest / at_start:.2f}",
                    "- (report)",
                )
            )
    table(
        f"memory: {ITEMS} items parse -> enrich (local) -> publish (Markdown), "
        f"{PROCESSES} process(es) x {THREADS} threads per service",
        rows,
        notes=[
            "baseline: the same process's RSS once started and idle; peak = VmHWM at the end",
            f"items completed {task.completed_items}, failed {task.failed_items}, "
            f"in {elapsed:.1f} s",
        ],
    )


if __name__ == "__main__":
    main()
