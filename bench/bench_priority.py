"""Priority: one urgent link during a bulk import, Redis memory, and a 100 000-link task.

The gateway (gunicorn, production configuration) and ``kbm worker parser`` fetch and
extract the 61 article pages from loopback. Figures, each beside its baseline from the
same run:

1. One link submitted with ``"priority": "high"`` (parse stage), submit → completed, while
   a bulk parse task of ``BENCH_PRIORITY_BULK`` links (default 3000) is under way, against
   the same links' pages on the idle system (``BENCH_PRIORITY_SAMPLES``, default 14, each a
   different page). Target: within 2x.
2. Redis memory while a ``BENCH_PRIORITY_HUGE``-link task (default 100 000) is accepted,
   against the same number of parse messages enqueued at once (what a FIFO design holds).
3. The time to accept that task (one ``POST /api/parsing/sync``).
"""

from __future__ import annotations

import os
import signal
import statistics
import sys
import time
from typing import Any

import dramatiq
import httpx
import redis
from dramatiq.brokers.redis import RedisBroker

from bench.harness import (
    REDIS_URL,
    PageServer,
    bench_env,
    flush_redis,
    fresh_database,
    gateway,
    load_pages,
    table,
    workers,
)

BULK = int(os.environ.get("BENCH_PRIORITY_BULK", "3000"))
HUGE = int(os.environ.get("BENCH_PRIORITY_HUGE", "100000"))
SAMPLES = int(os.environ.get("BENCH_PRIORITY_SAMPLES", "14"))


def _one_link(client: httpx.Client, url: str) -> float:
    """Submit one high-priority link; return seconds until its task finished."""
    started = time.monotonic()
    answer = client.post("/api/parsing/sync", json={"urls": [url], "priority": "high"}, timeout=60)
    answer.raise_for_status()
    task_id = answer.json()["data"]["task_id"]
    while True:
        task: dict[str, Any] = client.get(f"/api/tasks/history/{task_id}").json()["data"]
        if task["finished_at"]:
            if task["completed_items"] != 1:
                raise RuntimeError(f"the urgent link did not complete: {task}")
            return time.monotonic() - started
        time.sleep(0.02)


def _latencies(
    client: httpx.Client, server: PageServer, page_ids: list[str], tag: str
) -> list[float]:
    """Time one urgent link per page of ``page_ids``, each at a URL of its own."""
    return [
        _one_link(client, f"{server.url(page_id)}?{tag}={n}-{time.time_ns()}")
        for n, page_id in enumerate(page_ids)
    ]


def _used_memory(client: redis.Redis) -> int:
    return int(client.info("memory")["used_memory"])


def _fifo_memory(client: redis.Redis, count: int) -> int:
    """Return the memory ``count`` parse messages take when all are enqueued at once."""
    broker = RedisBroker(client=client)
    broker.declare_queue("bench-fifo")
    before = _used_memory(client)
    pipe_size = 1000
    for start in range(0, count, pipe_size):
        for item_id in range(start, min(count, start + pipe_size)):
            broker.enqueue(
                dramatiq.Message(
                    queue_name="bench-fifo",
                    actor_name="parse_item",
                    args=(item_id,),
                    kwargs={},
                    options={},
                )
            )
    used = _used_memory(client) - before
    client.delete("dramatiq:bench-fifo", "dramatiq:bench-fifo.msgs")
    broker.close()
    return used


def main() -> None:
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    pages = load_pages()
    page_ids = sorted(pages)
    server = PageServer({page_id: html for page_id, (_url, html, _text) in pages.items()})
    flush_redis()
    client = redis.Redis.from_url(REDIS_URL)
    try:
        with fresh_database() as database_url:
            env = bench_env(
                database_url,
                API_MAX_URLS=str(max(HUGE, BULK)),
                API_MAX_BODY_BYTES=str(160 * HUGE + 2**20),
            )
            with (
                gateway(env) as api_url,
                workers("parser", env, processes=2, threads=4),
                httpx.Client(base_url=api_url, timeout=120) as http,
            ):
                # The same pages idle and busy: their extraction alone takes 10 to 40 ms.
                # Each is parsed once before (a page's first extraction loads what its
                # language needs, up to half a second).
                sampled = [page_ids[n % len(page_ids)] for n in range(SAMPLES)]
                _latencies(http, server, sampled, "warm-up")
                idle = _latencies(http, server, sampled, "idle")

                bulk_urls = [
                    f"{server.url(page_ids[n % len(page_ids)])}?bulk={n}" for n in range(BULK)
                ]
                bulk = http.post("/api/parsing/sync", json={"urls": bulk_urls}).json()["data"]
                time.sleep(2.0)  # the import is under way
                busy = _latencies(http, server, sampled, "busy")
                bulk_task = http.get(f"/api/tasks/history/{bulk['task_id']}").json()["data"]
                http.post(f"/api/tasks/history/{bulk['task_id']}/cancel")

                huge_urls = [f"{server.url(page_ids[0])}?huge={n}" for n in range(HUGE)]
                before = _used_memory(client)
                started = time.monotonic()
                huge = http.post("/api/parsing/sync", json={"urls": huge_urls}, timeout=600)
                accepted = time.monotonic() - started
                huge.raise_for_status()
                held = _used_memory(client) - before
                queued = client.llen("dramatiq:parsing")
                http.post(f"/api/tasks/history/{huge.json()['data']['task_id']}/cancel")
            fifo = _fifo_memory(client, HUGE)
    finally:
        server.close()
        flush_redis()

    idle_p50, busy_p50 = statistics.median(idle), statistics.median(busy)
    table(
        f"Priority: one urgent link during a {BULK}-link import; a {HUGE}-link task",
        [
            (
                "urgent link, submit → done (p50)",
                f"{busy_p50 * 1000:.0f} ms",
                f"{idle_p50 * 1000:.0f} ms idle",
                f"{busy_p50 / idle_p50:.2f}",
                "≤ 2",
            ),
            (
                "urgent link, slowest of the samples",
                f"{max(busy) * 1000:.0f} ms",
                f"{max(idle) * 1000:.0f} ms idle",
                f"{max(busy) / max(idle):.2f}",
                "",
            ),
            (
                f"Redis memory after accepting {HUGE} links",
                f"{held / 2**20:.1f} MiB",
                f"{fifo / 2**20:.1f} MiB all enqueued",
                f"{held / fifo:.3f}" if fifo else "-",
                "small",
            ),
            (
                f"time to accept {HUGE} links (one request)",
                f"{accepted:.1f} s",
                "",
                "",
                "bounded",
            ),
        ],
        [
            f"bulk import progress when the urgent links ran: "
            f"{bulk_task['completed_items']}/{BULK} done, {bulk_task['waiting_items']} waiting",
            f"parse messages in Redis after the {HUGE}-link task was accepted: {queued}",
        ],
    )


if __name__ == "__main__":
    main()
