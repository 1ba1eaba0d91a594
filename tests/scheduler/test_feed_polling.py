"""Feeds polled by the real actors: the scheduler's claim, the parser's ``poll_feed``.

An in-memory broker and worker, real PostgreSQL, feeds served from loopback (RSS 2.0 and
Atom, with and without validators, malformed and huge). The parse stage is a no-op here:
what is checked is which links become which task, and what each request asked for.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker

from services.parser import actors
from services.parser.feeds import MAX_ENTRIES
from shared import feeds
from shared.broker import build_broker
from shared.feeds import FeedService
from shared.models import Feed, Task, TaskItem, utcnow
from shared.settings import Settings
from shared.tasks import TaskService
from tests.feeds.site import FeedSite, atom, entries_for, feed_site, rss


class Polling:
    """A broker with the real ``poll_feed`` and a no-op parse stage, and a worker."""

    def __init__(self, settings: Settings) -> None:
        broker = build_broker(settings, stub=True)
        assert isinstance(broker, StubBroker)
        self.broker = broker
        self.parsed: list[int] = []
        dramatiq.actor(
            actors.poll_feed.fn, broker=broker, actor_name=feeds.POLL_ACTOR, queue_name="parsing"
        )
        dramatiq.actor(
            self.parsed.append, broker=broker, actor_name="parse_item", queue_name="parsing"
        )
        self.service = FeedService(TaskService(broker))
        self.worker = dramatiq.Worker(broker, worker_timeout=20, worker_threads=2)

    def poll_due(self) -> list[int]:
        """Do what one scheduler tick does for feeds, and wait for the polls to end."""
        sent = feeds.send_due_polls(self.broker)
        self.broker.join("parsing", fail_fast=True, timeout=30_000)
        self.worker.join()
        return sent

    def make_due(self, feed_id: int) -> None:
        Feed.update(next_poll_at=utcnow() - timedelta(seconds=1)).where(
            Feed.id == feed_id
        ).execute()


@pytest.fixture()
def polling(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Polling]:
    harness = Polling(settings)
    monkeypatch.setattr(actors, "get_settings", lambda: settings)
    previous = dramatiq.get_broker()
    dramatiq.set_broker(harness.broker)
    harness.worker.start()
    yield harness
    harness.worker.stop()
    harness.broker.close()
    dramatiq.set_broker(previous)


@pytest.fixture()
def site() -> Iterator[FeedSite]:
    with feed_site() as served:
        yield served


def _tasks() -> list[list[str]]:
    """Return every task's links, in order."""
    return [
        [
            item.link.normalized_url
            for item in TaskItem.select().where(TaskItem.task == task.id).order_by(TaskItem.id)
        ]
        for task in Task.select().order_by(Task.id)
    ]


def test_an_rss_feed_with_validators_is_imported_then_asked_conditionally(
    polling: Polling, site: FeedSite
) -> None:
    # Given an RSS feed with ETag and Last-Modified, registered
    page = "https://news.example.com/story"
    url = site.serve("/rss", rss(entries_for(page, 3)))
    feed, _ = polling.service.add(url)

    # When it is polled, polled again unchanged, then again after two new entries
    assert polling.poll_due() == [feed["id"]]
    polling.make_due(feed["id"])
    polling.poll_due()
    site.serve("/rss", rss(entries_for(page, 5)))
    polling.make_due(feed["id"])
    polling.poll_due()

    # Then the first poll imported three links, the unchanged one cost nothing, and the
    # last imported the two new links only
    assert _tasks() == [
        [f"{page}?n=2", f"{page}?n=1", f"{page}?n=0"],
        [f"{page}?n=4", f"{page}?n=3"],
    ]
    hits = site.hits_of("/rss")
    assert [hit.status for hit in hits] == [200, 304, 200]
    assert "if-none-match" not in hits[0].headers
    assert hits[1].headers["if-none-match"].startswith('"')
    assert hits[1].headers["if-modified-since"]
    shown = polling.service.get(feed["id"])
    assert (shown["title"], shown["entries_seen"], shown["status"]) == ("A feed", 5, "active")
    assert len(polling.parsed) == 5


def test_an_atom_feed_without_validators_imports_each_entry_once(
    polling: Polling, site: FeedSite
) -> None:
    url = site.serve(
        "/atom",
        atom(entries_for("https://blog.example.org/post", 2)),
        content_type="application/atom+xml",
        validators=False,
    )
    feed, _ = polling.service.add(url, stages=["parse"])

    polling.poll_due()
    polling.make_due(feed["id"])
    polling.poll_due()

    assert len(_tasks()) == 1
    assert Task.get().stages == ["parse"]
    assert [hit.status for hit in site.hits_of("/atom")] == [200, 200]
    assert polling.service.get(feed["id"])["last_outcome"] == "no new entries"


def test_a_malformed_feed_fails_until_it_is_paused_with_its_error(
    polling: Polling, site: FeedSite
) -> None:
    url = site.serve("/broken", b"<rss><channel><item>unfinished", content_type="text/xml")
    feed, _ = polling.service.add(url)

    for _ in range(feeds.MAX_FAILURES):
        polling.make_due(feed["id"])
        polling.poll_due()

    shown = polling.service.get(feed["id"])
    assert shown["status"] == "paused"
    assert "is not a readable RSS or Atom feed" in shown["error"]
    assert f"({feeds.MAX_FAILURES} failures in a row)" in shown["error"]
    assert _tasks() == []
    polling.make_due(feed["id"])
    assert polling.poll_due() == []  # paused: not polled


def test_a_feed_that_is_gone_is_paused_at_once(polling: Polling, site: FeedSite) -> None:
    feed, _ = polling.service.add(site.base_url + "/nothing-here")

    polling.poll_due()

    shown = polling.service.get(feed["id"])
    assert shown["status"] == "paused"
    assert "HTTP 404" in shown["error"]


def test_a_huge_feed_imports_its_newest_entries_up_to_the_cap(
    polling: Polling, site: FeedSite
) -> None:
    url = site.serve("/huge", rss(entries_for("https://example.com/p", MAX_ENTRIES + 1500)))
    polling.service.add(url)

    polling.poll_due()

    (task,) = _tasks()
    assert len(task) == MAX_ENTRIES
    assert task[0] == f"https://example.com/p?n={MAX_ENTRIES + 1499}"


def test_two_schedulers_ticking_at_once_poll_a_feed_once(polling: Polling, site: FeedSite) -> None:
    url = site.serve("/rss", rss(entries_for("https://example.com/p", 4)))
    polling.service.add(url)
    barrier = threading.Barrier(2)
    sent: list[list[int]] = []

    def tick() -> None:
        barrier.wait()
        sent.append(feeds.send_due_polls(polling.broker))

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    polling.broker.join("parsing", fail_fast=True, timeout=30_000)
    polling.worker.join()

    assert sorted(len(ids) for ids in sent) == [0, 1]
    assert len(site.hits_of("/rss")) == 1
    assert [len(task) for task in _tasks()] == [4]


def test_a_redelivered_poll_imports_nothing_twice(polling: Polling, site: FeedSite) -> None:
    url = site.serve("/rss", rss(entries_for("https://example.com/p", 3)), validators=False)
    feed, _ = polling.service.add(url)

    for _ in range(3):  # the same poll message, delivered three times
        polling.broker.enqueue(
            dramatiq.Message(
                queue_name="parsing",
                actor_name=feeds.POLL_ACTOR,
                args=(feed["id"],),
                kwargs={},
                options={},
            )
        )
    polling.broker.join("parsing", fail_fast=True, timeout=30_000)
    polling.worker.join()

    assert [len(task) for task in _tasks()] == [3]
