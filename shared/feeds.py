"""Feeds: registered RSS/Atom feeds whose new entries become one task per poll.

The gateway registers feeds; the scheduler's tick claims the feeds that are due and
sends one ``poll_feed`` message each to the parser, which fetches the feed through its
guarded client (conditionally: ``ETag`` / ``Last-Modified``) and reports here what it
found. An entry is new when neither its key (the feed's id for it) nor its normalised
link was seen in that feed before; the new entries, the task that imports them and the
feed's validators are written in one transaction while the feed's row is locked, so
two pollers of one feed (two schedulers, a redelivered message) import each entry once.

A feed polled while the scheduler was down is polled once when it is back, not once per
missed interval. A feed that fails ``MAX_FAILURES`` times in a row, or fails in a way
that will not pass (not a feed, gone, refused), is paused with its error until resumed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import dramatiq

from shared.db import database, locked
from shared.errors import InvalidRequest, NotFound
from shared.feed_limits import PRIORITIES
from shared.models import Feed, FeedEntry, utcnow
from shared.pipeline import PARSE, TASK_TYPES
from shared.tasks import TaskService
from shared.urls import InvalidURL, normalize_url
from shared.views import iso

#: Shortest and longest polling interval a feed may ask for.
MIN_EVERY = timedelta(minutes=5)
MAX_EVERY = timedelta(days=7)
DEFAULT_EVERY = timedelta(hours=1)
#: Consecutive failures (of the kind that may pass) after which a feed is paused.
MAX_FAILURES = 5
#: Feeds claimed by one scheduler tick at most (the rest are due at the next one).
CLAIM_BATCH = 200
#: The task type of an import from a feed.
FEED_TASK_TYPE = "pipeline"
#: The parser's actor that polls one feed, sent by name (the scheduler has no parser code).
POLL_ACTOR = "poll_feed"
POLL_QUEUE = "parsing"
POLL_TIME_LIMIT_MS = 60_000

_DURATION = re.compile(r"(\d+)\s*([dhms])")
_UNITS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}


def parse_every(text: object, field: str = "every") -> timedelta:
    """Return the interval of ``1h``, ``30m``, ``1d``, ``1h30m`` or seconds; 400 otherwise."""
    if isinstance(text, int) and not isinstance(text, bool):
        seconds = text
    elif isinstance(text, str) and text.strip():
        compact = text.strip().lower()
        parts = _DURATION.findall(compact)
        if compact.isdigit():
            seconds = int(compact)
        elif parts and "".join(a + b for a, b in parts) == compact.replace(" ", ""):
            seconds = sum(int(n) * _UNITS[unit] for n, unit in parts)
        else:
            raise InvalidRequest(field, f"expected a duration such as 30m, 1h or 1d, got {text!r}")
    else:
        raise InvalidRequest(field, "expected a duration such as 30m, 1h or 1d")
    if not MIN_EVERY.total_seconds() <= seconds <= MAX_EVERY.total_seconds():
        raise InvalidRequest(field, "must be from 5 minutes to 7 days")
    return timedelta(seconds=seconds)


def feed_view(feed: Feed) -> dict[str, Any]:
    """Return what the API and the CLI show of a feed."""
    return {
        "id": feed.id,
        "url": feed.url,
        "title": feed.title,
        "every_seconds": feed.every_seconds,
        "stages": feed.stages,
        "priority": feed.priority,
        "status": "paused" if feed.paused else "active",
        "error": feed.error,
        "failures": feed.failures,
        "entries_seen": feed.entries_seen,
        "last_task_id": feed.last_task_id,
        "last_polled_at": iso(feed.last_polled_at),
        "last_outcome": feed.last_outcome,
        "next_poll_at": None if feed.paused else iso(feed.next_poll_at),
        "created_at": iso(feed.created_at),
    }


class FeedService:
    """Register, list, pause, resume and remove feeds."""

    def __init__(self, tasks: TaskService) -> None:
        self.tasks = tasks

    def add(
        self,
        url: object,
        *,
        every: object = None,
        stages: object = None,
        priority: str | None = None,
        owner: str | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Register a feed (or update the one with this URL); return it and if it is new.

        A new feed takes the defaults of what is not given (every hour, every stage,
        normal priority); an existing one changes only what is given.
        """
        try:
            key = normalize_url(url)  # type: ignore[arg-type]
        except (InvalidURL, TypeError) as ex:
            raise InvalidRequest("url", str(ex)) from None
        given: dict[str, Any] = {}
        if every is not None:
            given["every_seconds"] = int(parse_every(every).total_seconds())
        if stages is not None:
            given["stages"] = TaskService.stages_of(stages, FEED_TASK_TYPE)
            if given["stages"][0] != PARSE.name:
                # A feed's entries are links never seen before: nothing else could run.
                raise InvalidRequest(
                    "stages",
                    f"a feed's entries are new links, so its stages begin with {PARSE.name} "
                    f"(got {', '.join(given['stages'])})",
                )
        if priority is not None:
            if priority not in PRIORITIES:
                raise InvalidRequest("priority", f"expected one of {', '.join(PRIORITIES)}")
            given["priority"] = priority
        with database.atomic():
            feed = Feed.get_or_none(Feed.url == key)
            created = feed is None
            if feed is None:
                defaults = {
                    "every_seconds": int(DEFAULT_EVERY.total_seconds()),
                    "stages": DEFAULT_STAGES,
                    "priority": "normal",
                }
                feed = Feed.create(
                    url=key, owner=owner, next_poll_at=utcnow(), **(defaults | given)
                )
            else:
                if given:
                    Feed.update(**given).where(Feed.id == feed.id).execute()
                feed = Feed.get_by_id(feed.id)
        return feed_view(feed), created

    def _feed(self, feed_id: int) -> Feed:
        feed = Feed.get_or_none(Feed.id == feed_id)
        if feed is None:
            raise NotFound(f"feed {feed_id} does not exist")
        return feed

    def get(self, feed_id: int) -> dict[str, Any]:
        """Return one feed."""
        return feed_view(self._feed(feed_id))

    def list(self, *, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        """Return one page of feeds, oldest first."""
        query = Feed.select()
        page = query.order_by(Feed.id).limit(limit).offset(offset)
        return {
            "feeds": [feed_view(feed) for feed in page],
            "total": query.count(),
            "limit": limit,
            "offset": offset,
        }

    def remove(self, feed_id: int) -> None:
        """Forget a feed and the entries it has seen (the tasks it made stay)."""
        self._feed(feed_id)
        Feed.delete().where(Feed.id == feed_id).execute()

    def set_paused(self, feed_id: int, paused: bool) -> dict[str, Any]:
        """Pause a feed, or resume it (polled at the next tick, its failures forgotten)."""
        self._feed(feed_id)
        changes: dict[Any, Any] = {Feed.paused: paused}
        if not paused:
            changes |= {Feed.failures: 0, Feed.error: None, Feed.next_poll_at: utcnow()}
        Feed.update(changes).where(Feed.id == feed_id).execute()
        return self.get(feed_id)


def claim_due_feeds(now: datetime | None = None, limit: int = CLAIM_BATCH) -> list[int]:
    """Return the feeds due for a poll, their next poll moved on by their interval.

    Claimed under row locks (``SKIP LOCKED`` on PostgreSQL), so two schedulers never
    claim one feed for the same interval. A feed overdue by many intervals is claimed
    once: its next poll is an interval from now.
    """
    now = now or utcnow()
    with database.atomic():
        query = (
            Feed.select(Feed.id, Feed.every_seconds)
            .where((Feed.paused == False) & (Feed.next_poll_at <= now))  # noqa: E712
            .order_by(Feed.next_poll_at)
            .limit(limit)
        )
        due = list(locked(query, skip_locked=True))
        for feed in due:
            Feed.update(next_poll_at=now + timedelta(seconds=feed.every_seconds)).where(
                Feed.id == feed.id
            ).execute()
    return [feed.id for feed in due]


def send_due_polls(broker: dramatiq.Broker, now: datetime | None = None) -> list[int]:
    """Claim the feeds that are due and send the parser a poll of each; return their ids."""
    due = claim_due_feeds(now)
    for feed_id in due:
        broker.enqueue(
            dramatiq.Message(
                queue_name=POLL_QUEUE, actor_name=POLL_ACTOR, args=(feed_id,), kwargs={}, options={}
            )
        )
    return due


@dataclass(frozen=True)
class PollOutcome:
    """What one poll of a feed did."""

    feed_id: int
    outcome: str
    new_entries: int = 0
    task_id: int | None = None


def _locked(feed_id: int) -> Feed | None:
    return locked(Feed.select().where(Feed.id == feed_id)).first()


def record_unchanged(
    feed_id: int, *, etag: str | None, last_modified: str | None, now: datetime | None = None
) -> PollOutcome:
    """Record a poll answered ``304 Not Modified``."""
    now = now or utcnow()
    Feed.update(
        last_polled_at=now,
        last_outcome="unchanged",
        failures=0,
        error=None,
        etag=etag or Feed.etag,
        last_modified=last_modified or Feed.last_modified,
    ).where(Feed.id == feed_id).execute()
    return PollOutcome(feed_id, "unchanged")


def record_entries(
    tasks: TaskService,
    feed_id: int,
    entries: Sequence[tuple[str, str]],
    *,
    title: str = "",
    etag: str | None = None,
    last_modified: str | None = None,
    now: datetime | None = None,
) -> PollOutcome:
    """Import a poll's entries (key, normalised URL): the new ones become one task."""
    now = now or utcnow()
    with database.atomic():
        feed = _locked(feed_id)
        if feed is None:
            return PollOutcome(feed_id, "feed removed")
        new = _new_entries(feed_id, entries)
        task_id = None
        if new:
            task_id = tasks.insert_task(
                urls=[url for _, url in new],
                stages=feed.stages,
                task_type=FEED_TASK_TYPE,
                owner=feed.owner,
                priority=feed.priority,
                source="feed",
            )
            FeedEntry.insert_many(
                [
                    {"feed": feed_id, "key": key, "url": url, "task": task_id, "seen_at": now}
                    for key, url in new
                ]
            ).execute()
        Feed.update(
            title=(title or feed.title)[:500],
            last_polled_at=now,
            last_outcome=f"{len(new)} new entries" if new else "no new entries",
            failures=0,
            error=None,
            etag=etag,
            last_modified=last_modified,
            entries_seen=Feed.entries_seen + len(new),
            last_task_id=task_id if task_id is not None else feed.last_task_id,
        ).where(Feed.id == feed_id).execute()
    if task_id is not None:
        tasks.start_task(task_id)
    return PollOutcome(feed_id, "imported" if new else "no new entries", len(new), task_id)


def _new_entries(feed_id: int, entries: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Return the entries whose key and link this feed has not seen, in order, once each."""
    keys = {key for key, _ in entries}
    urls = {url for _, url in entries}
    seen_keys: set[str] = set()
    seen_urls: set[str] = set()
    if entries:
        rows = FeedEntry.select(FeedEntry.key, FeedEntry.url).where(
            (FeedEntry.feed == feed_id) & (FeedEntry.key.in_(keys) | FeedEntry.url.in_(urls))
        )
        for row in rows:
            seen_keys.add(row.key)
            seen_urls.add(row.url)
    new: list[tuple[str, str]] = []
    for key, url in entries:
        if key in seen_keys or url in seen_urls:
            continue
        seen_keys.add(key)
        seen_urls.add(url)
        new.append((key, url))
    return new


def record_failure(
    feed_id: int, error: str, *, permanent: bool, now: datetime | None = None
) -> PollOutcome:
    """Record a failed poll; pause the feed when it will not pass or failed too often."""
    now = now or utcnow()
    with database.atomic():
        feed = _locked(feed_id)
        if feed is None:
            return PollOutcome(feed_id, "feed removed")
        failures = feed.failures + 1
        paused = permanent or failures >= MAX_FAILURES
        shown = error if not paused or permanent else f"{error} ({failures} failures in a row)"
        Feed.update(
            last_polled_at=now,
            last_outcome="failed",
            failures=failures,
            error=shown[:2000],
            paused=paused,
        ).where(Feed.id == feed_id).execute()
    return PollOutcome(feed_id, "paused" if paused else "failed")


def feed_url(feed_id: int) -> str | None:
    """Return the URL of a feed, or None when it was removed."""
    feed = Feed.get_or_none(Feed.id == feed_id)
    return None if feed is None else str(feed.url)


def conditional_headers(feed_id: int) -> dict[str, str]:
    """Return the ``If-None-Match`` / ``If-Modified-Since`` headers of a feed's next poll."""
    feed = Feed.get_or_none(Feed.id == feed_id)
    headers: dict[str, str] = {}
    if feed is not None and feed.etag:
        headers["If-None-Match"] = feed.etag
    if feed is not None and feed.last_modified:
        headers["If-Modified-Since"] = feed.last_modified
    return headers


#: The stages a feed's task runs when none are given.
DEFAULT_STAGES = list(TASK_TYPES[FEED_TASK_TYPE])
