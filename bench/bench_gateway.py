"""Gateway: status reads per second and their p99, and accepting a 1 000-link submission.

The gateway runs under gunicorn with its production configuration
(``services/api/gunicorn.conf.py``: ``GUNICORN_WORKERS`` processes, default 2, each an
event loop in front of a thread pool) on a fresh database; only the per-client request
budget is lifted, since the load generator is one client. No worker consumes: submitted
tasks stay queued. The same reads run against the former configuration too (sync
workers, ``--worker-class sync``), side by side.

- **submission**: ``POST /api/pipeline`` with 1 000 new URLs, time to the 202 (best and
  median of ``BENCH_GATEWAY_SUBMISSIONS``, default 3); baseline: the original RQ design's
  submission of the same links, in-process (one row per item, one job per item,
  :func:`bench.rq_baseline.submit`).
- **status reads**: ``GET /api/tasks/history/{id}`` of a 1 000-item task from
  ``BENCH_GATEWAY_CLIENTS`` (default 8) httpx threads for ``BENCH_GATEWAY_SECONDS``
  (default 8 s, at most ``BENCH_GATEWAY_REQUESTS`` = 20 000 requests), over loopback,
  ``BENCH_GATEWAY_ROUNDS`` (3) rounds alternating with the former configuration;
  baseline: a fixed-JSON WSGI app (:mod:`bench.hello_app`) under the same gunicorn
  configuration and load: what gunicorn, HTTP and the load generator cost.
- **stalled clients**: ``BENCH_GATEWAY_STALLED`` (default 50) connections that never finish
  their request (half stop inside the headers, half inside an announced body); then the
  time a health check and a status read take, each at most ``STALLED_WAIT_S`` (10 s).
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import sys
import threading
import time
import uuid
from contextlib import ExitStack

import httpx

from bench.harness import (
    bench_env,
    flush_redis,
    fresh_database,
    gateway,
    percentile,
    table,
)
from bench.rq_baseline import submit as rq_submit
from shared.db import database

SUBMISSIONS = int(os.environ.get("BENCH_GATEWAY_SUBMISSIONS", "3"))
LINKS = 1000
CLIENTS = int(os.environ.get("BENCH_GATEWAY_CLIENTS", "8"))
SECONDS = float(os.environ.get("BENCH_GATEWAY_SECONDS", "8"))
ROUNDS = int(os.environ.get("BENCH_GATEWAY_ROUNDS", "3"))
MAX_REQUESTS = int(os.environ.get("BENCH_GATEWAY_REQUESTS", "20000"))
STALLED = int(os.environ.get("BENCH_GATEWAY_STALLED", "50"))
STALLED_WAIT_S = 10.0
#: The former configuration: one request per sync worker process, the WSGI app directly.
SYNC = {"extra_args": ["--worker-class", "sync"], "app": "services.api.app:create_app()"}


def urls() -> list[str]:
    """Return 1 000 new URLs."""
    run = uuid.uuid4().hex[:8]
    return [f"https://bench.example/{run}/{n}" for n in range(LINKS)]


def load(base_url: str, path: str) -> tuple[float, list[float], int]:
    """GET ``path`` from ``CLIENTS`` threads; return requests/s, latencies (ms), errors."""
    latencies: list[list[float]] = [[] for _ in range(CLIENTS)]
    errors = [0] * CLIENTS
    budget = threading.Semaphore(MAX_REQUESTS)
    stop_at = time.monotonic() + SECONDS

    def client(number: int) -> None:
        with httpx.Client(base_url=base_url, timeout=30) as http:
            while time.monotonic() < stop_at and budget.acquire(blocking=False):
                started = time.perf_counter()
                try:
                    ok = http.get(path).status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies[number].append((time.perf_counter() - started) * 1000)
                errors[number] += not ok

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    every = [latency for per_client in latencies for latency in per_client]
    return len(every) / elapsed, every, sum(errors)


def stalled(base_url: str, status_path: str) -> tuple[float, float]:
    """Hold ``STALLED`` unfinished requests open; return the health and status read times (s).

    A read that does not answer within ``STALLED_WAIT_S`` counts as that long.
    """
    host, port = base_url.removeprefix("http://").split(":")
    with ExitStack() as stack:
        for n in range(STALLED):
            sock = stack.enter_context(socket.create_connection((host, int(port)), timeout=5))
            sock.sendall(
                b"GET /api/monitoring/health HTTP/1.1\r\nHost: localhost\r\nX-Slow: "
                if n % 2
                else b"POST /api/pipeline HTTP/1.1\r\nHost: localhost\r\n"
                b"Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{"
            )
        time.sleep(0.5)
        times = []
        with httpx.Client(base_url=base_url, timeout=STALLED_WAIT_S) as http:
            for path in ("/api/monitoring/health", status_path):
                started = time.perf_counter()
                try:
                    http.get(path).raise_for_status()
                    times.append(time.perf_counter() - started)
                except httpx.HTTPError:
                    times.append(STALLED_WAIT_S)
    return times[0], times[1]


def _seconds(value: float) -> str:
    return (
        f"> {STALLED_WAIT_S:g} s (no answer)"
        if value >= STALLED_WAIT_S
        else f"{value * 1000:.0f} ms"
    )


def main() -> None:
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    flush_redis()
    accept: list[float] = []
    rq_accept: list[float] = []
    try:
        with fresh_database() as database_url:
            env = bench_env(database_url)
            with gateway(env) as url, httpx.Client(base_url=url, timeout=120) as http:
                http.post("/api/pipeline", json={"urls": urls()[:10]}).raise_for_status()
                for _ in range(SUBMISSIONS):
                    links = urls()
                    started = time.perf_counter()
                    answer = http.post("/api/pipeline", json={"urls": links})
                    accept.append(time.perf_counter() - started)
                    answer.raise_for_status()
                    task_id = answer.json()["data"]["task_id"]
                    started = time.perf_counter()
                    rq_submit(urls())
                    rq_accept.append(time.perf_counter() - started)
                flush_redis()
                status_path = f"/api/tasks/history/{task_id}"
                with gateway(env, **SYNC) as sync_url:  # type: ignore[arg-type]
                    load(url, status_path)  # warm-up: connections, caches
                    load(sync_url, status_path)
                    # Alternating rounds: the machine's drift falls on both alike.
                    rate, latencies, errors = 0.0, [], 0
                    sync_rate, sync_latencies, sync_errors = 0.0, [], 0
                    for _ in range(ROUNDS):
                        round_rate, round_latencies, round_errors = load(url, status_path)
                        rate += round_rate / ROUNDS
                        latencies += round_latencies
                        errors += round_errors
                        round_rate, round_latencies, round_errors = load(sync_url, status_path)
                        sync_rate += round_rate / ROUNDS
                        sync_latencies += round_latencies
                        sync_errors += round_errors
                    health_s, status_s = stalled(url, status_path)
                    sync_health_s, sync_status_s = stalled(sync_url, status_path)
            database.close_all()
        with gateway(env, app="bench.hello_app:asgi_app") as url:
            load(url, "/")
            base_rate, base_latencies, base_errors = load(url, "/")
    finally:
        flush_redis()

    best, base_best = min(accept), min(rq_accept)
    p99, sync_p99 = percentile(latencies, 0.99), percentile(sync_latencies, 0.99)
    table(
        f"gateway: production configuration against the former one (sync workers), "
        f"{os.environ.get('GUNICORN_WORKERS', '2')} processes, {CLIENTS} client threads for "
        f"{SECONDS:g} s on loopback",
        [
            ("status reads/s", f"{rate:.0f}", f"{sync_rate:.0f}", f"{rate / sync_rate:.2f}", ""),
            ("status read p99", f"{p99:.1f} ms", f"{sync_p99:.1f} ms", f"{p99 / sync_p99:.2f}",
             "<= 20 ms, not above sync"),
            ("errors", str(errors), str(sync_errors), "", "0"),
            (f"health, {STALLED} stalled clients", _seconds(health_s), _seconds(sync_health_s),
             "", "< 1 s"),
            (f"status read, {STALLED} stalled clients", _seconds(status_s),
             _seconds(sync_status_s), "", "< 1 s"),
        ],
        notes=["baseline column: gunicorn --worker-class sync with the WSGI app, same settings"],
    )  # fmt: skip
    table(
        f"gateway: gunicorn production configuration ({os.environ.get('GUNICORN_WORKERS', '2')} "
        f"processes), {CLIENTS} client threads for {SECONDS:g} s on loopback",
        [
            (
                "status reads/s (1 000-item task)",
                f"{rate:.0f}",
                f"{base_rate:.0f}",
                f"{rate / base_rate:.2f}",
                "- (report)",
            ),
            (
                "status read p50",
                f"{percentile(latencies, 0.5):.1f} ms",
                f"{percentile(base_latencies, 0.5):.1f} ms",
                f"{percentile(latencies, 0.5) / percentile(base_latencies, 0.5):.2f}",
                "",
            ),
            (
                "status read p99",
                f"{percentile(latencies, 0.99):.1f} ms",
                f"{percentile(base_latencies, 0.99):.1f} ms",
                f"{percentile(latencies, 0.99) / percentile(base_latencies, 0.99):.2f}",
                "- (report)",
            ),
            ("errors", str(errors), str(base_errors), "", "0"),
            (
                "accept 1 000 links (202), best",
                f"{best * 1000:.0f} ms",
                f"{base_best * 1000:.0f} ms",
                f"{best / base_best:.2f}",
                "- (report)",
            ),
            (
                "  median",
                f"{statistics.median(accept) * 1000:.0f} ms",
                f"{statistics.median(rq_accept) * 1000:.0f} ms",
                f"{statistics.median(accept) / statistics.median(rq_accept):.2f}",
                "",
            ),
        ],
        notes=[
            "baselines: reads = fixed-JSON WSGI app under the same gunicorn configuration; "
            "accept = the original RQ submission (row + job per item), in-process",
            f"{len(latencies)} and {len(base_latencies)} requests; "
            f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs",
        ],
    )


if __name__ == "__main__":
    main()
