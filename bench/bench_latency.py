"""Pickup latency: one link submitted to the gateway → its first stage starts.

The gateway (gunicorn, production configuration) and one parser worker command
(``dramatiq shared.broker:setup bench.noop_stages --queues parsing``, the real broker
and middleware with a no-op actor that records when it starts) wait idle; one link at a
time is submitted with ``POST /api/pipeline`` after a random idle gap, and the time
from the request to the actor's start is taken. Two worker configurations are measured
in the same run, in alternating rounds: the project's ``WORKER_POLL_MS`` (50 ms) and
Dramatiq's default ``dramatiq_worker_timeout`` of 1000 ms.
Targets: p50 ≤ 50 ms, p95 ≤ 150 ms at the project's setting.

``BENCH_LATENCY_SAMPLES`` (default 24 per configuration, split over 2 rounds) and
``BENCH_LATENCY_GAP`` (the longest idle gap, default 1.0 s) size it.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import statistics
import sys
import time
import uuid

import httpx
import redis

from bench.harness import (
    REDIS_URL,
    bench_env,
    flush_redis,
    fresh_database,
    gateway,
    percentile,
    table,
    workers,
)
from bench.noop_stages import STARTS
from shared.db import database
from shared.models import TaskItem
from shared.settings import Settings

SAMPLES = int(os.environ.get("BENCH_LATENCY_SAMPLES", "24"))
ROUNDS = 2
MAX_GAP = float(os.environ.get("BENCH_LATENCY_GAP", "1.0"))
PROJECT_POLL_MS = int(Settings.model_fields["worker_poll_ms"].default)
DRAMATIQ_POLL_MS = 1000


def _item_of(task_id: int) -> int:
    with database.connection_context():
        return int(TaskItem.get(TaskItem.task == task_id).id)


def _samples(client: httpx.Client, count: int) -> tuple[list[float], list[float], int]:
    """Submit ``count`` single links; return submit→start and accepted→start (ms).

    Also return how many start records belonged to no submission of this batch (a
    redelivery would show up here).
    """
    starts = redis.Redis.from_url(REDIS_URL)
    to_start: list[float] = []
    after_accept: list[float] = []
    strays = 0
    for _ in range(count):
        # Idle long enough for the consumer to back off, as between real submissions.
        time.sleep(random.uniform(MAX_GAP / 3, MAX_GAP))
        url = f"https://bench.example/latency/{uuid.uuid4().hex}"
        submitted = time.time()
        answer = client.post("/api/pipeline", json={"urls": [url], "stages": ["parse"]})
        accepted = time.time()
        answer.raise_for_status()
        item_id = _item_of(answer.json()["data"]["task_id"])
        while True:
            popped = starts.blpop([STARTS], timeout=10)
            if popped is None:
                raise RuntimeError(f"item {item_id}: the first stage did not start within 10 s")
            started_item, started_at = popped[1].split()
            if int(started_item) == item_id:
                break
            strays += 1
        started = float(started_at)
        to_start.append((started - submitted) * 1000)
        after_accept.append((started - accepted) * 1000)
    return to_start, after_accept, strays


def main() -> None:
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    flush_redis()
    results: dict[int, tuple[list[float], list[float]]] = {
        PROJECT_POLL_MS: ([], []),
        DRAMATIQ_POLL_MS: ([], []),
    }
    per_round = max(1, SAMPLES // ROUNDS)
    strays = 0
    try:
        with fresh_database() as database_url:
            env = bench_env(database_url, BENCH_RECORD_STARTS="1")
            with gateway(env) as url, httpx.Client(base_url=url, timeout=30) as client:
                for _round in range(ROUNDS):
                    for poll_ms, (to_start, after_accept) in results.items():
                        worker_env = {**env, "WORKER_POLL_MS": str(poll_ms)}
                        with contextlib.ExitStack() as stack:
                            stack.enter_context(
                                workers("parser", worker_env, module="bench.noop_stages")
                            )
                            _samples(client, 2)  # first connections, first queries
                            measured = _samples(client, per_round)
                        to_start += measured[0]
                        after_accept += measured[1]
                        strays += measured[2]
    finally:
        flush_redis()

    project, default = results[PROJECT_POLL_MS], results[DRAMATIQ_POLL_MS]
    rows = []
    for name, share, target in (("p50", 0.50, "<= 50 ms"), ("p95", 0.95, "<= 150 ms")):
        ours, theirs = percentile(project[0], share), percentile(default[0], share)
        rows.append(
            (
                f"submit -> first stage starts, {name}",
                f"{ours:.1f} ms",
                f"{theirs:.1f} ms",
                f"{ours / theirs:.2f}",
                target,
            )
        )
    for name, share in (("p50", 0.50), ("p95", 0.95)):
        ours, theirs = percentile(project[1], share), percentile(default[1], share)
        rows.append(
            (
                f"  of which after the 202, {name}",
                f"{ours:.1f} ms",
                f"{theirs:.1f} ms",
                f"{ours / theirs:.2f}",
                "",
            )
        )
    rows.append(
        (
            "  max",
            f"{max(project[0]):.1f} ms",
            f"{max(default[0]):.1f} ms",
            "",
            "",
        )
    )
    table(
        f"pickup latency: {len(project[0])} single-link submissions per configuration, "
        f"idle gaps {MAX_GAP / 3:.2f}-{MAX_GAP:.2f} s",
        rows,
        notes=[
            f"measured: WORKER_POLL_MS={PROJECT_POLL_MS} (the project's); "
            f"baseline: Dramatiq's default dramatiq_worker_timeout={DRAMATIQ_POLL_MS} ms",
            f"mean submit -> start: {statistics.mean(project[0]):.1f} ms vs "
            f"{statistics.mean(default[0]):.1f} ms",
            f"start records of no submission (redeliveries): {strays}",
            f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs (1 min, at the end)",
        ],
    )


if __name__ == "__main__":
    main()
