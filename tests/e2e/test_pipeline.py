"""End to end: links submitted over HTTP go parse → enrich → publish in real workers."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from shared.models import Content, Enrichment, Publication, StageRun, TaskItem
from tests.stack import PageSite, Stack, worker_argv

pytestmark = pytest.mark.e2e


def _shingle_f1(extracted: str, expected: str) -> float:
    def shingles(text: str) -> Counter[tuple[str, ...]]:
        tokens = re.findall(r"\w+", text)
        return Counter(tuple(tokens[i : i + 4]) for i in range(len(tokens) - 3))

    got, want = shingles(extracted), shingles(expected)
    overlap = sum((got & want).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(got.values()), overlap / sum(want.values())
    return 2 * precision * recall / (precision + recall)


def _submit(stack: Stack, urls: list[str], **extra: Any) -> int:
    with stack.http() as client:
        response = client.post("/api/pipeline", json={"urls": urls, **extra})
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["success"] is True
    assert body["data"]["status"] == "queued"
    assert body["data"]["total_items"] == len(urls)
    return int(body["data"]["task_id"])


def _items(stack: Stack, task_id: int) -> list[dict[str, Any]]:
    with stack.http() as client:
        response = client.get(f"/api/tasks/history/{task_id}/items", params={"limit": 1000})
    return list(response.json()["data"]["items"])


def _assert_counters_match_items(task: dict[str, Any], items: list[dict[str, Any]]) -> None:
    statuses = Counter(item["status"] for item in items)
    assert task["total_items"] == len(items)
    assert task["completed_items"] == statuses["completed"]
    assert task["failed_items"] == statuses["failed"]
    assert task["cancelled_items"] == statuses["cancelled"]


def test_every_link_is_parsed_enriched_and_published_and_a_500_fails_after_retries(
    stack: Stack,
    site: PageSite,
    expected_pages: dict[str, dict[str, str]],
    db: str,
    redis_url: str,
) -> None:
    # Given twelve real article pages and one URL that always answers 500
    page_ids = sorted(expected_pages)[:12]
    urls = [site.url(f"/page/{page_id}") for page_id in page_ids]
    failing = site.url("/fail500/always")

    # When they are submitted together over HTTP
    started = time.monotonic()
    task_id = _submit(stack, [*urls, failing])
    task = stack.wait_for_task(task_id)
    elapsed = time.monotonic() - started

    # Then every page completed and the 500 failed with a clear error after its retries
    items = _items(stack, task_id)
    _assert_counters_match_items(task, items)
    assert (task["status"], task["completed_items"], task["failed_items"]) == ("failed", 12, 1)
    (failed,) = [item for item in items if item["status"] == "failed"]
    assert failed["url"] == failing
    assert failed["stage"] == "parse"
    assert failed["attempts"] == 4
    assert "HTTP 500" in failed["error"]
    assert site.hits["/fail500/always"] == 4
    print(
        f"\nend-to-end: {len(urls)} pages through 3 stages in {elapsed:.2f} s "
        f"= {len(urls) / elapsed:.1f} items/s (task {task['duration_ms']} ms)"
    )

    # And each page's content matches the page, with an enrichment and one Markdown file
    by_url = {item["url"]: item for item in items}
    for page_id, url in zip(page_ids, urls, strict=True):
        item = by_url[url]
        assert item["status"] == "completed", item
        content = Content.get(Content.link == item["link_id"])
        assert _shingle_f1(content.text, expected_pages[page_id]["articleBody"]) > 0.5, url
        enrichment = Enrichment.get(Enrichment.link == item["link_id"])
        assert enrichment.summary and 1 <= len(enrichment.tags) <= 5
        publication = Publication.get(Publication.link == item["link_id"])
        path = Path(publication.path)
        assert path.parent == stack.export_dir.resolve() or path.parent == stack.export_dir
        front_matter = yaml.safe_load(path.read_text().split("---")[1])
        assert front_matter["url"] == url
        assert front_matter["title"] == content.title
        assert front_matter["category"] == enrichment.category
    f1 = [
        _shingle_f1(
            Content.get(Content.link == by_url[url]["link_id"]).text,
            expected_pages[page_id]["articleBody"],
        )
        for page_id, url in zip(page_ids, urls, strict=True)
    ]
    assert sum(f1) / len(f1) > 0.85
    assert len(list(stack.export_dir.glob("*.md"))) == 12


def test_retry_resumes_failed_items_from_the_stage_they_failed_in(
    stack: Stack, site: PageSite, expected_pages: dict[str, dict[str, str]], db: str, redis_url: str
) -> None:
    # Given publishing is broken: the export folder's path is taken by a plain file
    page_ids = sorted(expected_pages)[12:15]
    urls = [site.url(f"/page/{page_id}") for page_id in page_ids]
    stack.export_dir.parent.mkdir(parents=True, exist_ok=True)
    if stack.export_dir.is_dir():
        for path in stack.export_dir.iterdir():
            path.unlink()
        stack.export_dir.rmdir()
    stack.export_dir.write_text("not a folder")
    try:
        task_id = _submit(stack, urls)
        task = stack.wait_for_task(task_id)
        assert (task["status"], task["failed_items"]) == ("failed", 3)
        items = _items(stack, task_id)
        assert {item["stage"] for item in items} == {"publish"}
        # Attempts of the stage it failed in; every stage's together in total_attempts
        assert all((item["attempts"], item["total_attempts"]) == (4, 1 + 1 + 4) for item in items)
    finally:
        stack.export_dir.unlink()
    hits_before = {url: site.hits[url.removeprefix(site.base_url)] for url in urls}

    # When the task is retried with publishing repaired
    with stack.http() as client:
        response = client.post(f"/api/tasks/history/{task_id}/retry")
    assert response.status_code == 202, response.text
    assert response.json()["data"]["retried_items"] == 3
    task = stack.wait_for_task(task_id)

    # Then every item completes from the publish stage: no page was fetched again
    assert (task["status"], task["completed_items"], task["failed_items"]) == ("completed", 3, 0)
    _assert_counters_match_items(task, _items(stack, task_id))
    assert {url: site.hits[url.removeprefix(site.base_url)] for url in urls} == hits_before
    runs = StageRun.select().join(TaskItem).where(TaskItem.task == task_id)
    assert {(run.stage, run.attempts) for run in runs} == {
        ("parse", 1),
        ("enrich", 1),
        ("publish", 1),
    }
    assert len(list(stack.export_dir.glob("*.md"))) == 3


def test_cancel_stops_queued_items_and_lets_running_ones_finish_their_step(
    stack: Stack, site: PageSite, expected_pages: dict[str, dict[str, str]], db: str, redis_url: str
) -> None:
    # Given twelve slow pages (1 s each) and a parser with four threads
    urls = [site.url(f"/slow/page/{page_id}") for page_id in sorted(expected_pages)[15:27]]
    task_id = _submit(stack, urls)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if (
            TaskItem.select()
            .where((TaskItem.task == task_id) & (TaskItem.status == "running"))
            .count()
        ):
            break
        time.sleep(0.05)

    # When the task is cancelled while the first pages are being fetched
    with stack.http() as client:
        response = client.post(f"/api/tasks/history/{task_id}/cancel")
    assert response.status_code == 200, response.text
    assert response.json()["data"]["status"] == "cancelled"
    task = stack.wait_for_task(task_id, timeout=60)

    # Then every item ends cancelled, those that were running after their parse step only
    items = _items(stack, task_id)
    _assert_counters_match_items(task, items)
    assert (task["status"], task["cancelled_items"]) == ("cancelled", 12)
    parsed = [item for item in items if item["stages"]["parse"]["status"] == "completed"]
    assert 1 <= len(parsed) <= 8
    assert all("enrich" not in item["stages"] for item in items)
    assert Enrichment.select().count() == 0
    fetched = sum(site.hits[url.removeprefix(site.base_url)] for url in urls)
    assert fetched == len(parsed)


def test_the_cli_submits_and_watches_a_task_to_the_end(
    stack: Stack, site: PageSite, expected_pages: dict[str, dict[str, str]], db: str, redis_url: str
) -> None:
    urls = [site.url(f"/page/{page_id}") for page_id in sorted(expected_pages)[27:29]]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.cli.main",
            "submit",
            *urls,
            "--watch",
            "--interval",
            "0.2",
        ],
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "completed: 2 completed, 0 failed" in result.stdout
    assert re.search(r"publish\s.*2/2", result.stdout), result.stdout


def test_items_whose_messages_redis_lost_are_finished_by_the_scheduler(
    stack: Stack, site: PageSite, expected_pages: dict[str, dict[str, str]], db: str, redis_url: str
) -> None:
    # Given a task whose queued messages vanish with Redis's data (a restart without persistence)
    urls = [site.url(f"/slow/page/{page_id}") for page_id in sorted(expected_pages)[29:41]]
    task_id = _submit(stack, urls)
    time.sleep(0.3)
    redis.Redis.from_url(redis_url).flushdb()
    lost_at = time.monotonic()

    # When the scheduler and a default worker run (periodiq ticks at start, then each minute)
    scheduler = [
        subprocess.Popen(
            argv,
            env=stack.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for argv in (
            [sys.executable, "-m", "services.cli.main", "scheduler"],
            worker_argv("default", 1, 2),
        )
    ]
    try:
        task = stack.wait_for_task(task_id, timeout=150)
    finally:
        for process in scheduler:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)

    # Then every item completed, none twice, and the counters match
    items = _items(stack, task_id)
    _assert_counters_match_items(task, items)
    assert (task["status"], task["completed_items"]) == ("completed", 12)
    assert len(list(stack.export_dir.glob("*.md"))) >= 12
    print(
        f"\nrecovered {len(urls)} items after a Redis flush in {time.monotonic() - lost_at:.1f} s"
    )


def test_dead_letters_show_their_error_and_requeue_reruns_the_item(
    stack: Stack, site: PageSite, expected_pages: dict[str, dict[str, str]], db: str, redis_url: str
) -> None:
    # Given a page that answers 500 until it is repaired
    path = f"/flaky/page/{sorted(expected_pages)[41]}"
    site.broken.add(path)
    task_id = _submit(stack, [site.url(path)])
    assert stack.wait_for_task(task_id)["status"] == "failed"
    kbm = [sys.executable, "-m", "services.cli.main"]

    # When the dead letters are listed
    listing = subprocess.run(
        [*kbm, "dead-letters", "--json"], env=stack.env, capture_output=True, text=True, timeout=60
    )
    assert listing.returncode == 0, listing.stderr
    (letter,) = json.loads(listing.stdout)
    assert (letter["queue"], letter["actor"]) == ("parsing", "parse_item")
    assert "HTTP 500" in letter["error"]

    # And requeued once the page is repaired
    site.broken.discard(path)

    def requeue() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*kbm, "dead-letters", "--requeue", letter["id"]],
            env=stack.env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    sent = requeue()
    assert sent.stdout.strip() == "1 requeued, 0 skipped", sent.stderr

    # Then the item completes and the dead letter is gone
    task = stack.wait_for_task(task_id)
    assert (task["status"], task["completed_items"], task["failed_items"]) == ("completed", 1, 0)
    with stack.http() as client:
        assert client.get("/api/monitoring/dead-letters").json()["data"]["dead_letters"] == []

    # And the same id again is no dead letter any more: named, and a failure
    again = requeue()
    assert again.returncode == 1
    assert again.stdout.strip() == "0 requeued, 0 skipped"
    assert again.stderr.strip() == (
        f"Error: no dead letter with id {letter['id']} (`kbm dead-letters` lists them)"
    )
