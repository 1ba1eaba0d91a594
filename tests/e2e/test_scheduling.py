"""End to end: a task scheduled for later and a feed, through ``kbm`` and real processes.

The session's stack (gateway, parser, ai, notion) with a housekeeping worker
(``kbm worker default``) beside it. The scheduler's minute tick is stood in for by
sending its feed actor by hand, so the test needs not wait for the clock.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import dramatiq
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker

from tests.feeds.site import Entry, FeedSite, feed_site, rss
from tests.stack import KBM, PageSite, Stack, running_stack, worker_argv

pytestmark = pytest.mark.e2e


@pytest.fixture()
def housekeeping(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Run ``kbm worker default`` against the session's stack."""
    root = tmp_path_factory.mktemp("housekeeping")
    with running_stack(stack.env, {"default": worker_argv("default", 1, 2)}, root) as running:
        yield running


@pytest.fixture()
def feeds() -> Iterator[FeedSite]:
    with feed_site() as served:
        yield served


def _kbm(stack: Stack, *args: str) -> str:
    result = subprocess.run(
        [*KBM, *args], env=stack.env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _get(stack: Stack, path: str) -> dict[str, Any]:
    with stack.http() as client:
        data: dict[str, Any] = client.get(path).json()["data"]
    return data


def _tick(stack: Stack) -> None:
    """Do what the scheduler's minute tick does for feeds."""
    broker = RedisBroker(url=stack.env["REDIS_URL"])
    broker.enqueue(
        dramatiq.Message(
            queue_name="default", actor_name="poll_due_feeds", args=(), kwargs={}, options={}
        )
    )
    broker.close()


def _wait(condition: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail("the stack did not get there in time")


def test_a_task_submitted_for_later_waits_then_runs_on_time(
    stack: Stack,
    housekeeping: Stack,
    site: PageSite,
    expected_pages: dict[str, dict[str, str]],
    db: str,
    redis_url: str,
) -> None:
    url = site.url(f"/page/{sorted(expected_pages)[0]}?later=1")

    printed = _kbm(stack, "submit", url, "--stages", "parse", "--at", "+4s")

    found = re.search(r"task (\d+) scheduled for (.+) with 1 item ", printed)
    assert found, printed
    task_id = int(found[1])
    pending = _get(stack, f"/api/tasks/history/{task_id}")
    assert (pending["status"], pending["waiting_items"]) == ("pending", 1)
    assert "scheduled for" in _kbm(stack, "status", str(task_id))
    assert redis.Redis.from_url(redis_url).llen("dramatiq:parsing") == 0

    task = stack.wait_for_task(task_id, timeout=60)

    assert task["status"] == "completed"
    started = datetime.fromisoformat(task["started_at"].replace("Z", "+00:00"))
    planned = datetime.fromisoformat(pending["run_at"].replace("Z", "+00:00"))
    assert 0 <= (started - planned).total_seconds() < 5, (started, planned)


def test_a_feed_added_with_kbm_imports_its_entries_once_and_then_only_new_ones(
    stack: Stack,
    housekeeping: Stack,
    site: PageSite,
    feeds: FeedSite,
    expected_pages: dict[str, dict[str, str]],
    db: str,
    redis_url: str,
) -> None:
    pages = sorted(expected_pages)
    entries = [
        Entry(link=site.url(f"/page/{pages[n]}?feed=1"), title=f"Story {n}", guid=f"urn:{n}")
        for n in range(4)
    ]
    url = feeds.serve("/rss", rss(entries[:3]))

    # Given a feed registered with kbm, polled at a tick
    added = _kbm(stack, "feed", "add", url, "--every", "30m", "--stages", "parse")
    feed_id = int(re.search(r"feed (\d+) \(active\)", added)[1])  # type: ignore[index]
    _tick(stack)
    first = _wait(lambda: _get(stack, f"/api/feeds/{feed_id}")["last_task_id"])
    first_task = stack.wait_for_task(first, timeout=60)

    # When it is polled again unchanged, then with one new entry
    _kbm(stack, "feed", "resume", str(feed_id))  # due again at once
    _tick(stack)
    _wait(lambda: _get(stack, f"/api/feeds/{feed_id}")["last_outcome"] == "unchanged")
    feeds.serve("/rss", rss(entries))
    _kbm(stack, "feed", "resume", str(feed_id))
    _tick(stack)
    second = _wait(
        lambda: (task := _get(stack, f"/api/feeds/{feed_id}")["last_task_id"]) != first and task
    )
    second_task = stack.wait_for_task(second, timeout=60)

    # Then the three entries made one task, the unchanged poll none, the new entry one more
    assert (first_task["total_items"], first_task["status"]) == (3, "completed")
    assert (second_task["total_items"], second_task["status"]) == (1, "completed")
    assert [hit.status for hit in feeds.hits_of("/rss")] == [200, 304, 200]
    listed = _kbm(stack, "feed", "list")
    assert url in listed and "4" in listed
    shown = _get(stack, f"/api/feeds/{feed_id}")
    assert (shown["entries_seen"], shown["status"]) == (4, "active")
