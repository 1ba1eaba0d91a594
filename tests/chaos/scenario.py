"""One chaos scenario: submit links, disrupt the stack once work is under way, check the end.

The checks are the suite's promise: every item ended (completed, or failed with its
reason), the task's counters equal the items' statuses, and every completed link has
exactly one published page — none for the others, none twice.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.stack import PageSite, Stack

#: Counts the published pages per link id, given the task's items.
Published = Callable[[list[dict[str, Any]]], Counter[str]]


def scenario_urls(
    site: PageSite, expected: dict[str, dict[str, str]], scenario: str, count: int
) -> list[str]:
    """Return ``count`` distinct links to the site's article pages, named after the scenario."""
    pages = sorted(expected)
    return [site.url(f"/page/{pages[n % len(pages)]}?chaos={scenario}-{n}") for n in range(count)]


def submit(stack: Stack, urls: list[str]) -> int:
    """Create a task running every stage for ``urls``; return its id."""
    with stack.http() as client:
        response = client.post("/api/pipeline", json={"urls": urls})
    assert response.status_code == 202, response.text
    return int(response.json()["data"]["task_id"])


def done(stack: Stack, task_id: int) -> int:
    """Return how many of a task's items have ended."""
    with stack.http() as client:
        task = client.get(f"/api/tasks/history/{task_id}").json()["data"]
    return int(task["completed_items"] + task["failed_items"])


def wait_for_progress(stack: Stack, task_id: int, count: int) -> None:
    """Wait (at most a minute) until ``count`` of a task's items have ended."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and done(stack, task_id) < count:
        time.sleep(0.1)


def task_items(stack: Stack, task_id: int) -> list[dict[str, Any]]:
    """Return every item of a task."""
    with stack.http() as client:
        response = client.get(f"/api/tasks/history/{task_id}/items", params={"limit": 1000})
    return list(response.json()["data"]["items"])


def markdown_files(export_dir: Path) -> Published:
    """Count the Markdown files per link id (the name ends in -<link id>.md)."""

    def count(_: list[dict[str, Any]]) -> Counter[str]:
        return Counter(path.stem.rsplit("-", 1)[1] for path in export_dir.glob("*.md"))

    return count


def run_scenario(
    stack: Stack,
    urls: list[str],
    scenario: str,
    disrupt: Callable[[Stack, int], None],
    published: Published,
    *,
    timeout: float = 240.0,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Submit ``urls``, disrupt once a tenth is done, wait for the end and check it."""
    task_id = submit(stack, urls)
    wait_for_progress(stack, task_id, len(urls) // 10)
    disrupt(stack, task_id)
    disrupted = time.monotonic()
    task = stack.wait_for_task(task_id, timeout=timeout)
    recovery = time.monotonic() - disrupted
    items = task_items(stack, task_id)
    statuses = Counter(item["status"] for item in items)
    assert task["total_items"] == len(items) == len(urls)
    assert (task["completed_items"], task["failed_items"], task["cancelled_items"]) == (
        statuses["completed"],
        statuses["failed"],
        statuses["cancelled"],
    )
    pages = published(items)
    completed = {str(item["link_id"]) for item in items if item["status"] == "completed"}
    assert set(pages) == completed, "a completed item has no page, or a page has no item"
    assert max(pages.values(), default=1) == 1, f"published twice: {pages.most_common(3)}"
    print(
        f"\nchaos {scenario}: {statuses['completed']} completed, {statuses['failed']} failed; "
        f"finished {recovery:.1f} s after the disruption"
    )
    return task, items
