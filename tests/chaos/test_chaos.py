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
from pathlib import Path

import pytest
import redis

from tests.chaos.scenario import (
    Published,
    done,
    markdown_files,
    run_scenario,
    scenario_urls,
)
from tests.stack import PageSite, Stack, worker_argv

pytestmark = pytest.mark.chaos

WORKERS = ("parser", "ai", "notion", "default")
ITEMS = 200


def _fresh_markdown(stack: Stack) -> Published:
    """Empty the export folder of earlier scenarios; count the Markdown files per link."""
    shutil.rmtree(stack.export_dir, ignore_errors=True)
    return markdown_files(stack.export_dir)


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

    urls = scenario_urls(site, expected_pages, "kill9", ITEMS)
    task, _ = run_scenario(
        chaos_stack, urls, "kill -9", kill_each_service_twice, _fresh_markdown(chaos_stack)
    )
    assert (task["status"], task["completed_items"]) == ("completed", ITEMS)


def test_sigterm_of_every_worker_finishes_or_hands_back_in_flight_work(
    chaos_stack: Stack,
    site: PageSite,
    expected_pages: dict[str, dict[str, str]],
    db: str,
    redis_url: str,
) -> None:
    urls = scenario_urls(site, expected_pages, "sigterm", ITEMS)
    task, _ = run_scenario(
        chaos_stack,
        urls,
        "SIGTERM",
        lambda stack, _: _restart(stack, signal.SIGTERM),
        _fresh_markdown(chaos_stack),
    )
    assert (task["status"], task["completed_items"]) == ("completed", ITEMS)


def test_redis_losing_all_its_data_mid_run_loses_no_item(
    chaos_stack: Stack,
    site: PageSite,
    expected_pages: dict[str, dict[str, str]],
    db: str,
    redis_url: str,
) -> None:
    # FLUSHDB of the suite's own db: what a Redis restart without persistence does to it.
    urls = scenario_urls(site, expected_pages, "flush", ITEMS)
    task, _ = run_scenario(
        chaos_stack,
        urls,
        "Redis flush",
        lambda stack, _: redis.Redis.from_url(redis_url).flushdb(),
        _fresh_markdown(chaos_stack),
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
    urls = scenario_urls(site, expected_pages, "postgres", ITEMS)
    task, _ = run_scenario(
        chaos_stack, urls, "PostgreSQL restart", _restart_postgres, _fresh_markdown(chaos_stack)
    )
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
    urls = scenario_urls(site, expected_pages, "poison", 20)
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
        while time.monotonic() < deadline and done(stack, task_id) < len(urls):
            if stack.processes["parser"].poll() is not None:
                stack.start("parser")
            time.sleep(0.2)

    site.on_request[poison] = crash
    try:
        task, items = run_scenario(
            chaos_stack,
            urls,
            "poison page",
            supervise_parser,
            _fresh_markdown(chaos_stack),
            timeout=60,
        )
    finally:
        site.on_request.pop(poison, None)
        chaos_stack.commands["parser"] = single
        _restart(chaos_stack, signal.SIGTERM, ("parser",))

    # Then the poison item failed with the delivery limit as its reason, and only it
    failed = [item for item in items if item["status"] == "failed"]
    assert [item["url"] for item in failed] == [urls[0]]
    assert "gave up after 4 deliveries" in failed[0]["error"]
    assert (task["completed_items"], len(kills)) == (len(urls) - 1, 4)
