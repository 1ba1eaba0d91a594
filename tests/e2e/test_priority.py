"""End to end: an urgent link overtakes a bulk import, and queues stay within their caps."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from typing import Any

import pytest
import redis

from tests.e2e.conftest import FEEDING
from tests.stack import PageSite, Stack

pytestmark = pytest.mark.e2e

BULK = 3000
KBM = [sys.executable, "-m", "services.cli.main"]


def _task(stack: Stack, task_id: int) -> dict[str, Any]:
    with stack.http() as client:
        data: dict[str, Any] = client.get(f"/api/tasks/history/{task_id}").json()["data"]
    return data


class DepthSampler(threading.Thread):
    """Read the length of the parsing queue every 10 ms until stopped."""

    def __init__(self, redis_url: str) -> None:
        super().__init__(daemon=True)
        self.client = redis.Redis.from_url(redis_url)
        self.depths: list[int] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.depths.append(int(self.client.llen("dramatiq:parsing")))
            time.sleep(0.01)


def test_an_urgent_link_overtakes_a_bulk_import_and_the_queue_stays_within_its_cap(
    stack: Stack, site: PageSite, expected_pages: dict[str, dict[str, str]], db: str, redis_url: str
) -> None:
    cap = int(FEEDING["QUEUE_MAX_IN_FLIGHT"])
    pages = sorted(expected_pages)
    sampler = DepthSampler(redis_url)
    sampler.start()
    try:
        # Given a bulk parse task of several thousand links under way
        bulk_urls = [site.url(f"/page/{pages[n % len(pages)]}?bulk={n}") for n in range(BULK)]
        started = time.monotonic()
        with stack.http() as client:
            response = client.post("/api/parsing/sync", json={"urls": bulk_urls})
        accepted = time.monotonic() - started
        assert response.status_code == 202, response.text
        bulk_id = int(response.json()["data"]["task_id"])
        deadline = time.monotonic() + 60
        while _task(stack, bulk_id)["completed_items"] < 20 and time.monotonic() < deadline:
            time.sleep(0.1)
        bulk = _task(stack, bulk_id)
        assert bulk["completed_items"] >= 20, bulk
        assert bulk["waiting_items"] > BULK / 2 and 0 < bulk["queued_items"] <= cap

        # When one urgent link is submitted with the CLI
        urgent_url = site.url(f"/page/{pages[0]}?urgent=1")
        submitted = time.monotonic()
        created = subprocess.run(
            [*KBM, "submit", urgent_url, "--stages", "parse", "--priority", "high", "--json"],
            env=stack.env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert created.returncode == 0, created.stderr
        urgent_id = int(json.loads(created.stdout)["task_id"])
        urgent = _task(stack, urgent_id)
        while not urgent["finished_at"] and time.monotonic() - submitted < 60:
            time.sleep(0.05)
            urgent = _task(stack, urgent_id)
        latency = time.monotonic() - submitted

        # Then it completes within a bound while the bulk task keeps going
        assert urgent["status"] == "completed", urgent
        assert urgent["priority"] == "high"
        assert latency < 30
        during = _task(stack, bulk_id)
        assert during["finished_at"] is None
        assert during["completed_items"] > bulk["completed_items"]
        status = subprocess.run(
            [*KBM, "status", str(bulk_id)],
            env=stack.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert status.returncode == 0, status.stderr
        assert "priority normal" in status.stdout
        assert "waiting to be fed" in status.stdout
        time.sleep(1)
        assert _task(stack, bulk_id)["completed_items"] > during["completed_items"]
    finally:
        sampler.done.set()
        sampler.join()
        with stack.http() as client:
            # A cancel while feeders run must not deadlock with them (it once answered 503).
            cancelled = client.post(f"/api/tasks/history/{bulk_id}/cancel")
            assert cancelled.status_code == 200, cancelled.text
    stack.wait_for_task(bulk_id, timeout=60)

    # And the parsing queue never held more messages than its cap
    assert len(sampler.depths) > 100
    assert max(sampler.depths) <= cap
    print(
        f"\npriority: bulk task of {BULK} links accepted in {accepted:.2f} s; the urgent link "
        f"completed {latency:.2f} s after submission; parsing queue depth max "
        f"{max(sampler.depths)} (cap {cap}) over {len(sampler.depths)} samples"
    )
