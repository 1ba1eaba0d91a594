"""The Library and Feeds panels in a real headless Chromium against the real stack.

Links are searched by words, a tag and a category; a link that went through the real
pipeline is found by a word of its article; feeds are paused and resumed in the page;
tasks made by a feed, for later or by a recurring job say so in the task list.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from shared.models import Feed, FeedEntry, Task, utcnow
from tests.dashboard.test_dashboard import PHONE, _no_sideways_scroll
from tests.shared.search_fixtures import LIBRARY, add_library
from tests.stack import PageSite, Stack

pytestmark = pytest.mark.e2e


def _article_word(text: str) -> str:
    """Return a long word of an article: one its search document surely holds."""
    return max(re.findall(r"[^\W\d_]{8,}", text[:2000]), key=len)


def test_the_library_finds_links_by_words_tag_and_category_and_links_their_page(
    stack: Stack,
    site: PageSite,
    expected_pages: dict[str, dict[str, str]],
    page: Page,
    screenshots: Path,
    db: str,
    redis_url: str,
) -> None:
    # Given four stored links and one that goes through the real pipeline
    ids = add_library(**LIBRARY)
    page_id = sorted(expected_pages)[6]
    with stack.http() as http:
        created = http.post("/api/pipeline", json={"urls": [site.url(f"/page/{page_id}")]})
    task = stack.wait_for_task(created.json()["data"]["task_id"])
    assert task["status"] == "completed", task
    word = _article_word(expected_pages[page_id]["articleBody"])

    # When the dashboard opens, the library lists every link, newest first
    page.goto(f"{stack.api_url}/")
    library = page.locator("#library-list")
    expect(library.locator("li.link")).to_have_count(5)
    expect(page.locator("#library-count")).to_have_text("1\u20135 of 5 links")

    # Then a German word finds the German article through its inflected form
    page.get_by_label("Search").fill("Haus")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(library.locator("li.link")).to_have_count(1)
    entry = library.locator(f'li[data-link-id="{ids["haeuser"]}"]')
    expect(entry.locator(".link-title")).to_have_text("Neue Wohnungen in der Stadt")
    expect(entry.locator(".link-summary")).to_have_text("Neubauten am Fluss.")
    expect(entry.locator(".tag-filter")).to_have_text(["Wohnen", "energy"])

    # And the article of the link the pipeline made is found by one of its words
    page.get_by_label("Search").fill(word)
    page.get_by_role("button", name="Search", exact=True).click()
    expect(library.locator("li.link")).to_have_count(1)
    expect(library.locator("li.link .link-page")).to_contain_text("File: ")

    # When a tag of a link is clicked, the list keeps the links with that tag
    page.get_by_label("Search").fill("")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(library.locator("li.link")).to_have_count(5)
    library.locator(f'li[data-link-id="{ids["solar"]}"] .tag-filter', has_text="energy").click()
    expect(page.get_by_label("Tag", exact=True)).to_have_value("energy")
    expect(library.locator("li.link")).to_have_count(2)

    # And a category narrows it further; the published one links its Markdown file
    page.get_by_label("Category").fill("science")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(library.locator("li.link")).to_have_count(1)
    solar = library.locator(f'li[data-link-id="{ids["solar"]}"]')
    expect(solar.locator(".page-file")).to_have_text("export/solar.md")
    expect(solar.locator(".category")).to_have_text("Science")
    page.locator("#library-panel").screenshot(path=screenshots / "desktop-library.png")

    # And a query the gateway refuses says why, next to the form
    page.locator("#library-q").evaluate("input => { input.maxLength = 1000; }")
    page.get_by_label("Search").fill("x" * 501)
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#library-error")).to_contain_text("q")

    # And on a phone's width it fits without sideways scrolling
    page.set_viewport_size(PHONE)
    expect(page.locator("#library-panel")).to_be_visible()
    assert _no_sideways_scroll(page)


def test_feeds_are_paused_and_resumed_and_their_tasks_are_labelled(
    stack: Stack, page: Page, screenshots: Path, db: str, redis_url: str
) -> None:
    # Given a feed that polled, one that fails, and tasks of a feed, for later, recurring
    now = utcnow()
    news = Feed.create(
        url="https://news.example/feed.xml", title="News", every_seconds=3600,
        stages=["parse"], last_polled_at=now, last_outcome="3 new entries", entries_seen=3,
    )  # fmt: skip
    broken = Feed.create(
        url="https://gone.example/rss", every_seconds=1800, stages=["parse"], paused=True,
        failures=1, error="HTTP 410: the feed is gone", last_outcome="failed",
    )  # fmt: skip
    from_feed = Task.create(type="pipeline", stages=["parse"], owner="token:x", status="completed")
    FeedEntry.create(feed=news, key="entry-1", url="https://news.example/1", task=from_feed)
    later = Task.create(
        type="pipeline", stages=["parse"], owner="token:x", run_at=now + timedelta(hours=2)
    )
    recurring = Task.create(
        type="notion", stages=["publish"], status="completed", source="recurring"
    )
    by_hand = Task.create(type="pipeline", stages=["parse"], owner="token:x", status="completed")

    # When the dashboard opens
    page.goto(f"{stack.api_url}/")

    # Then each feed shows its schedule, last poll, new entries and error
    row = page.locator(f'#feed-rows tr[data-feed-id="{news.id}"]')
    expect(row.locator(".cell-schedule")).to_have_text("every 1 h")
    expect(row.locator(".cell-outcome")).to_have_text("3 new entries")
    expect(row.locator(".cell-polled")).not_to_have_text("never")
    failing = page.locator(f'#feed-rows tr[data-feed-id="{broken.id}"]')
    expect(failing.locator(".cell-error")).to_have_text("HTTP 410: the feed is gone")
    expect(failing.locator(".cell-polled")).to_have_text("never")
    expect(failing.get_by_role("button", name="Resume")).to_be_visible()

    # And the task list says where tasks came from
    tasks = page.locator("#task-list")
    expect(tasks.locator(f'li[data-task-id="{from_feed.id}"] .source')).to_have_text(
        f"feed #{news.id}"
    )
    expect(tasks.locator(f'li[data-task-id="{later.id}"] .source')).to_have_text("scheduled")
    expect(tasks.locator(f'li[data-task-id="{recurring.id}"] .source')).to_have_text("recurring")
    expect(tasks.locator(f'li[data-task-id="{by_hand.id}"] .source')).to_have_count(0)

    # When the working feed is paused in the page
    row.get_by_role("button", name="Pause").click()

    # Then it is paused in the database and the page offers to resume it
    expect(page.locator("#feeds-notice")).to_have_text(f"Feed #{news.id} paused.")
    expect(row).to_have_attribute("data-status", "paused")
    assert Feed.get_by_id(news.id).paused is True
    page.locator("#feeds-panel").screenshot(path=screenshots / "desktop-feeds.png")

    # When it is resumed, it is active again
    row.get_by_role("button", name="Resume").click()
    expect(page.locator("#feeds-notice")).to_have_text(f"Feed #{news.id} resumed.")
    expect(row).to_have_attribute("data-status", "active")
    assert Feed.get_by_id(news.id).paused is False
