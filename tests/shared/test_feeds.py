"""Feeds on real PostgreSQL: registration, claiming due feeds, importing each entry once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from shared import feeds
from shared.broker import build_broker
from shared.errors import InvalidRequest, NotFound
from shared.feeds import FeedService
from shared.models import Feed, FeedEntry, Task, TaskItem, utcnow
from shared.settings import Settings
from shared.tasks import TaskService


@pytest.fixture()
def tasks(settings: Settings) -> TaskService:
    return TaskService(build_broker(settings, stub=True))


@pytest.fixture()
def service(tasks: TaskService) -> FeedService:
    return FeedService(tasks)


def _entries(*numbers: int) -> list[tuple[str, str]]:
    return [(f"urn:entry:{n}", f"https://example.com/story/{n}") for n in numbers]


def _task_urls(task_id: int) -> list[str]:
    items = TaskItem.select().where(TaskItem.task == task_id).order_by(TaskItem.id)
    return [item.link.normalized_url for item in items]


def test_a_feed_is_registered_by_its_normalised_url_and_registering_again_updates_it(
    service: FeedService,
) -> None:
    feed, created = service.add("HTTPS://Blog.Example.com/feed.xml?utm_source=x", every="30m")
    again, created_again = service.add(
        "https://blog.example.com/feed.xml", every="2h", stages=["parse", "enrich"]
    )

    assert created and not created_again
    assert feed["id"] == again["id"]
    assert again["url"] == "https://blog.example.com/feed.xml"
    assert (again["every_seconds"], again["stages"]) == (7200, ["parse", "enrich"])
    assert again["status"] == "active"
    assert Feed.select().count() == 1


@pytest.mark.parametrize(
    ("every", "message"),
    [
        ("soon", "expected a duration such as 30m, 1h or 1d"),
        ("1m", "must be from 5 minutes to 7 days"),
        ("8d", "must be from 5 minutes to 7 days"),
        (True, "expected a duration"),
    ],
)
def test_a_bad_interval_is_refused_naming_the_field(
    service: FeedService, every: object, message: str
) -> None:
    with pytest.raises(InvalidRequest) as raised:
        service.add("https://example.com/rss", every=every)
    assert raised.value.field == "every"
    assert message in str(raised.value)


def test_intervals_read_as_a_person_writes_them() -> None:
    assert feeds.parse_every("1h30m") == timedelta(minutes=90)
    assert feeds.parse_every("1d") == timedelta(days=1)
    assert feeds.parse_every(600) == timedelta(minutes=10)
    assert feeds.parse_every("900") == timedelta(minutes=15)


def test_a_bad_url_or_stage_is_refused_naming_the_field(service: FeedService) -> None:
    with pytest.raises(InvalidRequest) as url_error:
        service.add("ftp://example.com/rss")
    with pytest.raises(InvalidRequest) as stage_error:
        service.add("https://example.com/rss", stages=["dance"])
    assert (url_error.value.field, stage_error.value.field) == ("url", "stages")


def test_a_feed_overdue_by_many_intervals_is_claimed_once_and_a_paused_one_never(
    service: FeedService,
) -> None:
    due, _ = service.add("https://example.com/due", every="1h")
    paused, _ = service.add("https://example.com/paused", every="1h")
    service.set_paused(paused["id"], True)
    now = utcnow() + timedelta(hours=10)  # the scheduler was down for ten hours

    assert feeds.claim_due_feeds(now) == [due["id"]]
    assert feeds.claim_due_feeds(now) == []
    assert feeds.claim_due_feeds(now + timedelta(minutes=59)) == []
    assert feeds.claim_due_feeds(now + timedelta(hours=1)) == [due["id"]]


def test_new_entries_become_one_task_and_entries_seen_before_never_again(
    service: FeedService, tasks: TaskService
) -> None:
    feed, _ = service.add("https://example.com/rss")

    first = feeds.record_entries(tasks, feed["id"], _entries(1, 2), etag='"a"')
    again = feeds.record_entries(tasks, feed["id"], _entries(1, 2), etag='"a"')
    more = feeds.record_entries(tasks, feed["id"], _entries(3, 2, 1), etag='"b"')

    assert (first.outcome, first.new_entries) == ("imported", 2)
    assert (again.outcome, again.task_id) == ("no new entries", None)
    assert (more.new_entries, more.task_id) == (1, more.task_id)
    assert first.task_id is not None and more.task_id is not None
    assert _task_urls(first.task_id) == [
        "https://example.com/story/1",
        "https://example.com/story/2",
    ]
    assert _task_urls(more.task_id) == ["https://example.com/story/3"]
    assert Task.get_by_id(more.task_id).source == "feed"
    assert Task.select().count() == 2
    shown = service.get(feed["id"])
    assert (shown["entries_seen"], shown["last_task_id"]) == (3, more.task_id)
    assert Feed.get_by_id(feed["id"]).etag == '"b"'


def test_an_entry_is_known_by_its_id_and_by_its_link(
    service: FeedService, tasks: TaskService
) -> None:
    feed, _ = service.add("https://example.com/rss")
    feeds.record_entries(tasks, feed["id"], [("urn:1", "https://example.com/a")])

    moved = feeds.record_entries(tasks, feed["id"], [("urn:1", "https://example.com/a-moved")])
    renamed = feeds.record_entries(tasks, feed["id"], [("urn:1b", "https://example.com/a")])

    assert (moved.new_entries, renamed.new_entries) == (0, 0)
    assert FeedEntry.select().count() == 1


def test_two_pollers_of_one_feed_at_once_import_each_entry_once(
    service: FeedService, tasks: TaskService
) -> None:
    feed, _ = service.add("https://example.com/rss")
    barrier = threading.Barrier(4)
    outcomes: list[feeds.PollOutcome] = []

    def poll() -> None:
        barrier.wait()
        outcomes.append(feeds.record_entries(tasks, feed["id"], _entries(1, 2, 3)))

    threads = [threading.Thread(target=poll) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcome.new_entries for outcome in outcomes) == [0, 0, 0, 3]
    assert Task.select().count() == 1
    assert FeedEntry.select().count() == 3


def test_a_feed_that_keeps_failing_is_paused_with_its_error_and_resumed_on_demand(
    service: FeedService,
) -> None:
    feed, _ = service.add("https://example.com/rss")
    for _ in range(feeds.MAX_FAILURES - 1):
        assert feeds.record_failure(feed["id"], "GET … timed out", permanent=False).outcome == (
            "failed"
        )
    last = feeds.record_failure(feed["id"], "GET … timed out", permanent=False)

    paused = service.get(feed["id"])
    assert last.outcome == "paused"
    assert paused["status"] == "paused"
    assert paused["error"] == f"GET … timed out ({feeds.MAX_FAILURES} failures in a row)"
    assert paused["next_poll_at"] is None
    assert feeds.claim_due_feeds(utcnow() + timedelta(days=30)) == []

    resumed = service.set_paused(feed["id"], False)
    assert (resumed["status"], resumed["failures"], resumed["error"]) == ("active", 0, None)
    assert feeds.claim_due_feeds() == [feed["id"]]


def test_a_permanent_failure_pauses_at_once(service: FeedService) -> None:
    feed, _ = service.add("https://example.com/rss")
    feeds.record_failure(feed["id"], "GET … answered HTTP 410 Gone", permanent=True)
    assert service.get(feed["id"])["status"] == "paused"
    assert service.get(feed["id"])["error"] == "GET … answered HTTP 410 Gone"


def test_an_unchanged_feed_keeps_its_validators_and_costs_no_task(
    service: FeedService, tasks: TaskService
) -> None:
    feed, _ = service.add("https://example.com/rss")
    feeds.record_entries(tasks, feed["id"], _entries(1), etag='"v1"', last_modified="Mon")

    feeds.record_unchanged(feed["id"], etag=None, last_modified=None)

    assert feeds.conditional_headers(feed["id"]) == {
        "If-None-Match": '"v1"',
        "If-Modified-Since": "Mon",
    }
    assert service.get(feed["id"])["last_outcome"] == "unchanged"
    assert Task.select().count() == 1


def test_a_removed_feed_is_gone_and_its_poll_does_nothing(
    service: FeedService, tasks: TaskService
) -> None:
    feed, _ = service.add("https://example.com/rss")
    service.remove(feed["id"])

    assert feeds.record_entries(tasks, feed["id"], _entries(1)).outcome == "feed removed"
    with pytest.raises(NotFound, match=f"feed {feed['id']} does not exist"):
        service.get(feed["id"])
