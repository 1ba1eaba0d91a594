"""Queue overhead: items through no-op stages, against bare Dramatiq and the original RQ.

Three runs of ``BENCH_QUEUE_ITEMS`` items (default 300), one after the other, on the
same Redis and PostgreSQL:

1. **full path**: ``POST /api/pipeline`` to the gateway under gunicorn (production
   configuration), then parse → enrich → publish, each stage on its own queue in its own
   worker command (``dramatiq shared.broker:setup bench.noop_stages --queues …``: the real
   broker and middleware with no-op actors), every transition tracked in PostgreSQL;
2. **bare Dramatiq**: the same chain of three no-op actors on the same queues with
   Dramatiq's defaults (:mod:`bench.bare_actors`): no gateway, no database;
3. **original RQ**: one forked RQ job per stage, status rows updated per job
   (:mod:`bench.rq_baseline`), with the guide's worker counts (``BENCH_QUEUE_RQ_WORKERS``,
   default 3,2,2).

Figures: items/s of each (three messages per item) and the ratios of the full path to
the others. ``BENCH_QUEUE_PROCESSES`` / ``BENCH_QUEUE_THREADS`` set the Dramatiq worker
processes per stage and threads per process (default 1 and 4).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
import uuid

import httpx
import redis
from rq import Worker

from bench.harness import (
    REDIS_URL,
    bench_env,
    dramatiq_workers,
    flush_redis,
    fresh_database,
    gateway,
    running,
    table,
    wait_for_task,
    workers,
)
from shared.db import database
from shared.settings import Settings

ITEMS = int(os.environ.get("BENCH_QUEUE_ITEMS", "300"))
WARM_UP = 20
PROCESSES = int(os.environ.get("BENCH_QUEUE_PROCESSES", "1"))
THREADS = int(os.environ.get("BENCH_QUEUE_THREADS", "4"))
RQ_WORKERS = [int(n) for n in os.environ.get("BENCH_QUEUE_RQ_WORKERS", "3,2,2").split(",")]
#: The project's idle poll interval (``WORKER_POLL_MS``), for every Dramatiq worker here.
POLL_MS = int(Settings.model_fields["worker_poll_ms"].default)
SERVICES = ("parser", "ai", "notion")
QUEUES = ("parsing", "ai", "notion")
MAX_URLS = 1000  # per request: the gateway's API_MAX_URLS default


def urls(count: int) -> list[str]:
    """Return ``count`` new URLs (links are unique by URL)."""
    run = uuid.uuid4().hex[:8]
    return [f"https://bench.example/{run}/{n}" for n in range(count)]


def _through_gateway(client: httpx.Client, count: int) -> float:
    """Submit ``count`` links to the gateway, wait for their tasks; return the seconds."""
    links = urls(count)
    started = time.monotonic()
    task_ids = []
    for start in range(0, count, MAX_URLS):
        answer = client.post("/api/pipeline", json={"urls": links[start : start + MAX_URLS]})
        answer.raise_for_status()
        task_ids.append(answer.json()["data"]["task_id"])
    tasks = [wait_for_task(task_id) for task_id in task_ids]
    elapsed = time.monotonic() - started
    done = sum(task.completed_items for task in tasks)
    if done != count:
        raise RuntimeError(f"full path: {done}/{count} items completed")
    return elapsed


def full_path(env: dict[str, str], count: int) -> float:
    """Run ``count`` items through the gateway and three no-op stages; return the seconds."""
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(gateway(env))
        for service in SERVICES:
            stack.enter_context(
                workers(
                    service, env, processes=PROCESSES, threads=THREADS, module="bench.noop_stages"
                )
            )
        with httpx.Client(base_url=url, timeout=120) as client:
            _through_gateway(client, WARM_UP)
            return _through_gateway(client, count)


def _bare_run(count: int) -> float:
    from bench.bare_actors import DONE, send

    client = redis.Redis.from_url(REDIS_URL)
    client.set(DONE, 0)
    started = time.monotonic()
    send(range(count))
    deadline = started + 600
    while int(client.get(DONE) or 0) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"bare Dramatiq: {int(client.get(DONE) or 0)}/{count} done")
        time.sleep(0.01)
    return time.monotonic() - started


def bare_dramatiq(env: dict[str, str], count: int) -> float:
    """Run ``count`` chains of three bare no-op actors; return the seconds."""
    with contextlib.ExitStack() as stack:
        for queue in QUEUES:
            stack.enter_context(
                dramatiq_workers(
                    "bench.bare_actors", [queue], env, processes=PROCESSES, threads=THREADS
                )
            )
        _bare_run(WARM_UP)
        return _bare_run(count)


def _rq_run(count: int) -> float:
    from bench.rq_baseline import submit

    started = time.monotonic()
    task = wait_for_task(submit(urls(count)))
    elapsed = time.monotonic() - started
    if task.completed_items != count:
        raise RuntimeError(f"RQ: {task.completed_items}/{count} items completed")
    return elapsed


def original_rq(env: dict[str, str], count: int) -> float:
    """Run ``count`` items through the original RQ design; return the seconds."""
    client = redis.Redis.from_url(REDIS_URL)
    with contextlib.ExitStack() as stack:
        for queue, number in zip(QUEUES, RQ_WORKERS, strict=True):
            for _ in range(number):
                argv = [sys.executable, "-m", "bench.rq_baseline", queue]
                stack.enter_context(running(argv, env))
        deadline = time.monotonic() + 60
        while Worker.count(connection=client) < sum(RQ_WORKERS):
            if time.monotonic() > deadline:
                raise RuntimeError("RQ workers did not start within 60 s")
            time.sleep(0.1)
        _rq_run(WARM_UP)
        return _rq_run(count)


def main() -> None:
    # A SIGTERM (a CI timeout) unwinds the blocks: the processes stop, the database goes.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    flush_redis()
    with fresh_database() as database_url:
        env = bench_env(database_url, WORKER_POLL_MS=str(POLL_MS))
        try:
            full = full_path(env, ITEMS)
            flush_redis()
            bare = bare_dramatiq(env, ITEMS)
            flush_redis()
            rq = original_rq(env, ITEMS)
        finally:
            flush_redis()
            database.close_all()

    full_rate, bare_rate, rq_rate = ITEMS / full, ITEMS / bare, ITEMS / rq
    table(
        f"queue overhead: {ITEMS} items x 3 no-op stages; Dramatiq {PROCESSES} process(es) x "
        f"{THREADS} threads per stage, poll {POLL_MS} ms; RQ workers {RQ_WORKERS}",
        [
            (
                "full path vs bare Dramatiq, items/s",
                f"{full_rate:.1f}",
                f"{bare_rate:.1f}",
                f"{full_rate / bare_rate:.2f}",
                "- (overhead, report)",
            ),
            (
                "  messages/s (3 per item)",
                f"{3 * full_rate:.1f}",
                f"{3 * bare_rate:.1f}",
                f"{full_rate / bare_rate:.2f}",
                "",
            ),
            (
                "full path vs original RQ, items/s",
                f"{full_rate:.1f}",
                f"{rq_rate:.1f}",
                f"{full_rate / rq_rate:.2f}",
                "> 1 (faster than RQ)",
            ),
            ("seconds", f"{full:.2f}", f"{bare:.2f} / {rq:.2f}", "", ""),
        ],
        notes=[
            "full path = gateway + 3 stages + item tracking in PostgreSQL; "
            "baselines = bare Dramatiq no-op actors / forked RQ jobs updating status rows",
            f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs (1 min, at the end)",
        ],
    )


if __name__ == "__main__":
    main()
