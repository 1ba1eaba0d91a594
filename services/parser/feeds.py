"""Read RSS and Atom feeds into links: each entry's normalised URL and a stable key.

The feed is fetched by the guarded client (:func:`services.parser.fetch.fetch_page`
with :data:`~services.parser.fetch.FEED`) and handed here as bytes: feedparser reads
the document only, it never fetches anything itself. An entry's key is its id (RSS
``guid``, Atom ``id``) when it has one, else its normalised link, so an entry seen
before is recognised even when its link changes tracking parameters.
"""

from __future__ import annotations

import calendar
import dataclasses
from datetime import UTC, datetime
from typing import Any

import feedparser

from shared.errors import FetchRejected
from shared.urls import InvalidURL, normalize_url, validate_url

#: Entries read from one document at most: a huge feed is read newest first up to here.
MAX_ENTRIES = 500
#: Longest key kept for an entry (ids are free text in RSS).
MAX_KEY_LENGTH = 500


class InvalidFeed(FetchRejected):
    """The document is not an RSS or Atom feed that can be read."""


@dataclasses.dataclass(frozen=True)
class FeedEntry:
    """One entry of a feed: its key, its link, its title and when it was published."""

    key: str
    url: str
    title: str
    published: datetime | None


@dataclasses.dataclass(frozen=True)
class Feed:
    """A feed's title and its entries that have a usable link, newest first."""

    title: str
    entries: list[FeedEntry]
    skipped: int = 0


def read_feed(
    raw: bytes,
    *,
    url: str,
    content_type: str | None = None,
    max_entries: int = MAX_ENTRIES,
) -> Feed:
    """Parse a feed document fetched from ``url``; raise :class:`InvalidFeed` if it is none.

    Relative entry links are resolved against ``url``. Entries without a usable http(s)
    link are counted in ``skipped``, never silently dropped. A malformed document is read
    as far as it goes; one that yields no usable entry is refused.
    """
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    parsed: Any = feedparser.parse(raw, response_headers=headers, sanitize_html=False)
    if not parsed.get("version") and not parsed.entries:
        reason = parsed.get("bozo_exception")
        detail = f": {reason}" if reason else ""
        raise InvalidFeed(f"{url} is not a readable RSS or Atom feed{detail}")
    entries: list[FeedEntry] = []
    skipped = 0
    for raw_entry in parsed.entries:
        entry = _entry(raw_entry)
        if entry is None:
            skipped += 1
            continue
        entries.append(entry)
    if not entries and parsed.get("bozo"):
        # Loose parsing reads many broken feeds; one that yields no link is just broken.
        reason = parsed.get("bozo_exception")
        raise InvalidFeed(f"{url} is not a readable RSS or Atom feed: {reason}")
    entries.sort(key=lambda entry: entry.published or datetime.min.replace(tzinfo=UTC))
    entries.reverse()
    kept = _unique(entries)[:max_entries]
    skipped += len(entries) - len(kept)
    return Feed(title=str(parsed.feed.get("title", "")).strip(), entries=kept, skipped=skipped)


def _entry(raw: Any) -> FeedEntry | None:
    link = (raw.get("link") or "").strip()
    try:
        url = normalize_url(validate_url(link))
    except InvalidURL:
        return None
    key = (raw.get("id") or "").strip() or url
    published = raw.get("published_parsed") or raw.get("updated_parsed")
    return FeedEntry(
        key=key[:MAX_KEY_LENGTH],
        url=url,
        title=str(raw.get("title", "")).strip(),
        published=datetime.fromtimestamp(calendar.timegm(published), UTC) if published else None,
    )


def _unique(entries: list[FeedEntry]) -> list[FeedEntry]:
    """Keep the first (newest) entry of each key and of each link."""
    keys: set[str] = set()
    urls: set[str] = set()
    unique = []
    for entry in entries:
        if entry.key in keys or entry.url in urls:
            continue
        keys.add(entry.key)
        urls.add(entry.url)
        unique.append(entry)
    return unique
