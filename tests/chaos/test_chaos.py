"""Chaos: whatever dies mid-run, every item ends with a reason, once, and counters agree.

Run with ``make chaos``. Each scenario sends a few hundred links through real worker
processes of every service, disrupts the stack once the work is under way, and checks:
every item completed (or failed with its reason where the scenario makes that right),
one published page per link, task counters equal to the items' statuses. The time from
the disruption to the task's end is printed.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.stack import PageSite, Stack, worker_argv

pytestmark = pytest.mark.chaos

WORKERS = ("parser", "ai", "notion", "default")
ITEMS = 200


def _urls(
    site: PageSite, expected: dict[str, dict[str, str]], scenario: str, count: int
) -> list[str]:
    pages = sorted(expected)
    return [site.url(f"/page/{pages[n % len(pages)]}?chaos={scenario}-{n}") for n in range(count)]


def _submit(stack: Stack, urls: list[str]) -> int:
    with stack.http() as client:
        response = client.post("/api/pipeline", json={"urls": urls})
    assert response.status_code == 202, response.text
    return int(response.json()["data"]["task_id"])


def _done(stack: Stack, task_id: int) -> int:
    with stack.http() as client:
        task = client.get(f"/api/tasks/history/{task_id}").json()["data"]
    return int(task["completed_items"] + task["failed_items"])


def _wait_for_progress(stack: Stack, task_id: int, count: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _done(stack, task_id) < count:
        time.sleep(0.1)


def _items(stack: Stack, task_id: int) -> list[dict[str, Any]]:
    with stack.http() as client:
        response = client.get(f"/api/tasks/history/{task_id}/items", params={"limit": 1000})
    return list(response.json()["data"]["items"])


def _published_files(export_dir: Path) -> Counter[str]:
    """Count the Markdown files per link id (the name ends in -<link id>.md)."""
    return Counter(path.stem.rsplit("-", 1)[1] for path in export_dir.glob("*.md"))


def _run(
    stack: Stack,
    urls: list[str],
    scenario: str,
    disrupt: Callable[[Stack, int], None],
    *,
    timeout: float = 240.0,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Submit ``urls``, disrupt once a tenth is done, wait for the end and check it."""
    shutil.rmtree(stack.export_dir, ignore_errors=True)
    task_id = _submit(stack, urls)
    _wait_for_progress(stack, task_id, len(urls) // 10)
    disrupt(stack, task_id)
    disrupted = time.monotonic()
    task = stack.wait_for_task(task_id, timeout=timeout)
    recovery = time.monotonic() - disrupted
    items = _items(stack, task_id)
    statuses = Counter(item["status"] for item in items)
    assert task["total_items"] == len(items) == len(urls)
    assert (task["completed_items"], task["failed_items"], task["cancelled_items"]) == (
        statuses["completed"],
        statuses["failed"],
        statuses["cancelled"],
    )
    files = _published_files(stack.export_dir)
    completed = {str(item["link_id"]) for item in items if item["status"] == "completed"}
    assert set(files) == completed, "a completed item has no page, or a page has no item"
    assert max(files.values(), default=1) == 1, "a link was published twice"
    print(
        f"\nchaos {scenario}: {statuses['completed']} completed, {statuses['failed']} failed; "
        f"finished {recovery:.1f} s after the disruption"
    )
    return task, items


def _restart(stack: Stack, signum: int, names: tuple[str, ...] = WORKERS) -> None:
    """Signal commands, wait for them to exit, start them again (an orchestrator's restart)."""
    for name in names:
        stack.signal(name, signum)
    for name in names:
        stack.processes[name].wait(timeout=60)
        stack.start(name)


def test_kill_9_of_each_services_worker_mid_work_loses_nothing(
    chaos_stack: Stack,
    site: PageSite,
    expected_pages: dict[str, dict[str, str]],
    db: str,
    redis_url: str,
) -> None:
    def kill_each_service_twice(stack: Stack, task_id: int) -> None:
        for _ in range(2):
            for name in ("parser", "ai", "notion"):
                _restart(stack, signal.SIGKILL, (name,))
                time.sleep(1.0)

    urls = _urls(site, expected_pages, "kill9", ITEMS)
    task, _ = _run(chaos_stack, urls, "kill -9", kill_each_service_twice)
    assert (task["status"], task["completed_items"]) == ("completed", ITEMS)


def test_sigterm_of_every_worker_finishes_or_hands_back_in_flight_work(
    chaos_stack: Stack,
    site: PageSite,
    expected_pages: dict[str, dict[str, str]],
    db: str,
    redis_url: str,
) -> None:
    urls = _urls(site, expected_pages, "sigterm", ITEMS)
    task, _ = _run(chaos_stack, urls, "SIGTERM", lambda stack, _: _restart(stack, signal.SIGTERM))
    assert (task["status"], task["completed_items"]) == ("completed", ITEMS)


def test_redis_losing_all_its_data_mid_run_loses_no_item(
    chaos_stack: Stack,
    site: PageSite,
    expected_pages: dict[str, dict[str, str]],
    db: str,
    redis_url: str,
) -> None:
    # FLUSHDB of the suite's own db: what a Redis restart without persistence does to it.
    urls = _urls(site, expected_pages, "flush", ITEMS)
    task, _ = _run(
        chaos_stack, urls, "Redis flush", lambda stack, _: redis.Redis.from_url(redis_url).flushdb()
    )
    assert (task["status"], task["completed_items"]) == ("completed", ITEMS)


def _restart_postgres(stack: Stack, task_id: int) -> None:
    versions = sorted(Path("/etc/postgresql").glob("*"))
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1].name, "main", "restart"],
        check=True,
        capture_output=True,
        timeout=60,
    )


@pytest.mark.skipif(
    shutil.which("pg_ctlcluster") is None or not Path("/etc/postgresql").exists(),
    reason="needs a local PostgreSQL cluster this suite may restart",
)
def test_postgresql_restarting_mid_run_loses_no_item(
    chaos_stack: Stack,
    site: PageSite,
    expected_pages: dict[str, dict[str, str]],
    db: str,
    redis_url: str,
) -> None:
    urls = _urls(site, expected_pages, "postgres", ITEMS)
    task, _ = _run(chaos_stack, urls, "PostgreSQL restart", _restart_postgres)
    assert (task["status"], task["completed_items"]) == ("completed", ITEMS)


def test_a_page_that_kills_its_worker_fails_after_the_delivery_limit_and_the_rest_complete(
    chaos_stack: Stack,
    site: PageSite,
    expected_pages: dict[str, dict[str, str]],
    db: str,
    redis_url: str,
) -> None:
    # Given a page whose every fetch kills the parser that asked for it (an extractor crash
    # or an out-of-memory kill looks the same), and a parser with one thread, so that the
    # kills count against that page only
    urls = _urls(site, expected_pages, "poison", 20)
    poison = urls[0].removeprefix(site.base_url).split("?")[0]
    kills: list[float] = []
    single = chaos_stack.commands["parser"]
    chaos_stack.commands["parser"] = worker_argv("parser", 1, 1)
    _restart(chaos_stack, signal.SIGTERM, ("parser",))

    def crash(path: str) -> None:
        if "chaos=poison-0" in path:
            kills.append(time.monotonic())
            chaos_stack.signal("parser", signal.SIGKILL)

    def supervise_parser(stack: Stack, task_id: int) -> None:
        # Restart the parser whenever it dies, as an orchestrator would, until the end.
        deadline = time.monotonic() + 200
        while time.monotonic() < deadline and _done(stack, task_id) < len(urls):
            if stack.processes["parser"].poll() is not None:
                stack.start("parser")
            time.sleep(0.2)

    site.on_request[poison] = crash
    try:
        task, items = _run(chaos_stack, urls, "poison page", supervise_parser, timeout=60)
    finally:
        site.on_request.pop(poison, None)
        chaos_stack.commands["parser"] = single
        _restart(chaos_stack, signal.SIGTERM, ("parser",))

    # Then the poison item failed with the delivery limit as its reason, and only it
    failed = [item for item in items if item["status"] == "failed"]
    assert [item["url"] for item in failed] == [urls[0]]
    assert "gave up after 4 deliveries" in failed[0]["error"]
    assert (task["completed_items"], len(kills)) == (len(urls) - 1, 4)
