"""Reading feeds: RSS and Atom, relative and odd links, malformed and huge documents,
and fetching them through the guarded client, conditionally."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from services.parser.addresses import BlockedAddress
from services.parser.feeds import MAX_ENTRIES, InvalidFeed, read_feed
from services.parser.fetch import FEED, fetch_page
from shared.errors import FetchRejected
from shared.settings import Settings
from tests.feeds.site import Entry, FeedSite, atom, entries_for, feed_site, rss


@pytest.fixture()
def feeds() -> Iterator[FeedSite]:
    with feed_site() as site:
        yield site


def _settings(**overrides: Any) -> Settings:
    return Settings.from_env(**({"fetch_allow_private": True} | overrides))


def test_an_rss_feed_gives_its_entries_newest_first_with_their_ids() -> None:
    document = rss(entries_for("https://news.example.com/story", 3))

    feed = read_feed(document, url="https://news.example.com/feed.xml")

    assert feed.title == "A feed"
    assert [entry.key for entry in feed.entries] == ["urn:entry:2", "urn:entry:1", "urn:entry:0"]
    assert feed.entries[0].url == "https://news.example.com/story?n=2"
    assert feed.entries[0].title == "Entry 2"
    assert feed.entries[0].published is not None
    assert feed.skipped == 0


def test_an_atom_feed_is_read_alike_and_relative_links_are_resolved() -> None:
    document = atom([Entry(link="/posts/one?utm_source=feed#top", title="One", guid="tag:1")])

    feed = read_feed(document, url="https://blog.example.org/atom.xml")

    (entry,) = feed.entries
    assert (entry.key, entry.url) == ("tag:1", "https://blog.example.org/posts/one")


def test_entries_without_an_id_are_known_by_their_normalised_link() -> None:
    document = rss([Entry(link="HTTPS://Example.com/a?utm_medium=rss&b=2&a=1", title="A")])

    (entry,) = read_feed(document, url="https://example.com/rss").entries

    assert entry.key == entry.url == "https://example.com/a?a=1&b=2"


def test_entries_without_a_usable_link_are_counted_not_silently_dropped() -> None:
    document = rss(
        [
            Entry(link="https://example.com/ok", title="ok", guid="1"),
            Entry(link="mailto:someone@example.com", title="mail", guid="2"),
            Entry(link="", title="none", guid="3"),
        ]
    )

    feed = read_feed(document, url="https://example.com/rss")

    assert [entry.url for entry in feed.entries] == ["https://example.com/ok"]
    assert feed.skipped == 2


def test_a_document_that_is_no_feed_is_refused_naming_the_url() -> None:
    with pytest.raises(InvalidFeed, match=r"https://example.com/rss is not a readable RSS or Atom"):
        read_feed(b"<html><body><p>hello</p></body></html>", url="https://example.com/rss")
    with pytest.raises(InvalidFeed):
        read_feed(b"\x00\x01 definitely not xml", url="https://example.com/rss")
    assert issubclass(InvalidFeed, FetchRejected)  # permanent: polling again will not help


def test_a_huge_feed_is_read_newest_first_up_to_the_cap() -> None:
    document = rss(entries_for("https://example.com/p", MAX_ENTRIES + 250))

    feed = read_feed(document, url="https://example.com/rss")

    assert len(feed.entries) == MAX_ENTRIES
    assert feed.entries[0].key == f"urn:entry:{MAX_ENTRIES + 249}"
    assert feed.skipped == 250


def test_the_same_link_twice_in_one_feed_is_one_entry() -> None:
    document = rss(
        [
            Entry(link="https://example.com/a", title="a", guid="1"),
            Entry(link="https://example.com/a#again", title="a again", guid="2"),
        ]
    )

    assert len(read_feed(document, url="https://example.com/rss").entries) == 1


def test_a_feed_is_fetched_then_answered_304_when_unchanged(feeds: FeedSite) -> None:
    url = feeds.serve("/rss", rss(entries_for("https://example.com/p", 2)))

    first = fetch_page(url, _settings(), accepted=FEED)
    again = fetch_page(
        url,
        _settings(),
        accepted=FEED,
        headers={"If-None-Match": first.etag or "", "If-Modified-Since": first.last_modified or ""},
    )

    assert first.status_code == 200 and first.etag and first.last_modified
    assert len(read_feed(first.raw, url=url).entries) == 2
    assert again.status_code == 304 and again.raw == b""
    assert [hit.status for hit in feeds.hits_of("/rss")] == [200, 304]


def test_an_atom_feed_served_as_plain_xml_is_accepted_and_html_is_not(feeds: FeedSite) -> None:
    atom_url = feeds.serve(
        "/atom", atom(entries_for("https://e.com/x", 1)), content_type="text/xml"
    )
    html_url = feeds.serve("/page", b"<html><body>hi</body></html>", content_type="text/html")

    assert fetch_page(atom_url, _settings(), accepted=FEED).content_type == "text/xml"
    with pytest.raises(FetchRejected, match="content type text/html, not an RSS or Atom feed"):
        fetch_page(html_url, _settings(), accepted=FEED)


def test_feeds_obey_the_address_guard(feeds: FeedSite) -> None:
    url = feeds.serve("/rss", rss([]))

    with pytest.raises(BlockedAddress):
        fetch_page(url, _settings(fetch_allow_private=False), accepted=FEED)
    assert feeds.hits_of("/rss") == []


def test_a_slightly_broken_feed_is_read_as_far_as_it_goes() -> None:
    document = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Tom & Jerry</title>'
        b"<item><title>One & two</title><link>https://example.com/1</link></item>"
        b"</channel>"
    )

    feed = read_feed(document, url="https://example.com/rss")

    assert [entry.url for entry in feed.entries] == ["https://example.com/1"]
