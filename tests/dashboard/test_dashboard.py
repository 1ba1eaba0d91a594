"""The dashboard in a real headless Chromium against the real stack.

Links are submitted through the page's form, their progress is watched in the page, a
failed one is retried with its button; a gateway with a token is unlocked in the page.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests.dashboard.conftest import TOKEN
from tests.stack import PageSite, Stack

pytestmark = pytest.mark.e2e

PHONE: ViewportSize = {"width": 375, "height": 812}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}


def _no_sideways_scroll(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_links_submitted_in_the_page_complete_and_a_failed_one_completes_after_retry(
    stack: Stack,
    site: PageSite,
    expected_pages: dict[str, dict[str, str]],
    page: Page,
    screenshots: Path,
    db: str,
    redis_url: str,
) -> None:
    # Given two real pages and a third that answers 500 until it is repaired
    first, second, broken = sorted(expected_pages)[:3]
    urls = [site.url(f"/page/{page_id}") for page_id in (first, second, broken)]
    site.broken.add(f"/page/{broken}")
    try:
        page.goto(f"{stack.api_url}/")
        expect(page.get_by_role("heading", name="Submit links")).to_be_visible()

        # When they are submitted through the form
        started = time.monotonic()
        page.get_by_label("Links, one per line").fill("\n".join(urls))
        page.get_by_role("button", name="Submit links").click()

        # Then the task shows up and its progress reaches the end: two done, one failed
        expect(page.locator("#submit-notice")).to_have_text(
            re.compile(r"Task #\d+ queued with 3 links\.")
        )
        task_id = int(page.locator("#submit-notice").inner_text().split("#")[1].split()[0])
        expect(page.get_by_role("heading", name=f"Task #{task_id}")).to_be_visible()
        expect(page.locator("#task-progress-text")).to_have_text(
            "3 of 3 finished: 2 completed, 1 failed (100%)"
        )
        first_run_s = time.monotonic() - started
        expect(page.locator("#task-status")).to_have_text("failed")
        entry = page.locator(f'#task-list li[data-task-id="{task_id}"]')
        expect(entry).to_contain_text("2 completed, 1 failed")

        # And the failed item says where and why it failed
        failed = page.locator('#item-rows tr[data-status="failed"]')
        expect(failed).to_have_count(1)
        expect(failed.locator(".cell-link a")).to_have_text(urls[2])
        expect(failed.locator(".cell-stage")).to_have_text("parse")
        expect(failed.locator(".cell-attempts")).to_have_text("4")
        expect(failed.locator(".cell-error")).to_contain_text("HTTP 500")
        expect(page.locator('#item-rows tr[data-status="completed"]')).to_have_count(2)
        page.screenshot(path=screenshots / "desktop-failed.png", full_page=True)

        # When the page is repaired and Retry is clicked
        site.broken.discard(f"/page/{broken}")
        retried = time.monotonic()
        page.get_by_role("button", name="Retry failed items").click()
    finally:
        site.broken.discard(f"/page/{broken}")

    # Then the failed item runs again and the whole task completes
    expect(page.locator("#task-notice")).to_have_text("Sent 1 failed item again.")
    expect(page.locator("#task-progress-text")).to_have_text("3 of 3 finished: 3 completed (100%)")
    retry_s = time.monotonic() - retried
    expect(page.locator("#task-status")).to_have_text("completed")
    expect(page.locator('#item-rows tr[data-status="completed"]')).to_have_count(3)
    expect(page.get_by_role("button", name="Retry failed items")).to_be_disabled()
    expect(page.get_by_role("button", name="Cancel task")).to_be_disabled()

    # And the queues and the workers are shown
    expect(page.locator("#queue-rows tr")).to_have_count(4)
    expect(page.locator('#queue-rows tr[data-queue="parsing"]')).to_be_visible()
    expect(page.locator("#worker-list li").first).to_be_visible()
    page.screenshot(path=screenshots / "desktop-completed.png", full_page=True)

    # And on a phone's width everything fits without sideways scrolling
    page.set_viewport_size(PHONE)
    expect(page.locator("#item-rows tr").first).to_be_visible()
    assert _no_sideways_scroll(page)
    page.screenshot(path=screenshots / "phone-completed.png", full_page=True)
    print(
        f"\ndashboard: 3 links to the end in {first_run_s:.1f} s (1 failed after 4 attempts); "
        f"retry to completed in {retry_s:.1f} s"
    )


def test_an_invalid_link_is_refused_with_the_gateways_reason_next_to_the_form(
    stack: Stack, page: Page, db: str, redis_url: str
) -> None:
    page.goto(f"{stack.api_url}/")

    page.get_by_label("Links, one per line").fill("https://fine.example/a\nnot a link")
    page.get_by_role("button", name="Submit links").click()

    error = page.locator("#submit-error")
    expect(error).to_contain_text("Link 2 (not)")
    expect(error).to_contain_text("has no scheme: write it with https://")
    expect(page.get_by_label("Links, one per line")).to_have_attribute("aria-invalid", "true")


def test_a_gateway_with_a_token_asks_for_it_once_and_works_once_it_is_given(
    guarded_stack: Stack,
    site: PageSite,
    expected_pages: dict[str, dict[str, str]],
    page: Page,
    screenshots: Path,
    db: str,
    redis_url: str,
) -> None:
    # Given a gateway that requires a token: its page is served without one, its API not
    url = f"{guarded_stack.api_url}/"
    assert httpx.get(url).status_code == 200
    assert httpx.get(f"{guarded_stack.api_url}/api/tasks/history").status_code == 401

    # When the page is opened, it asks for the token and shows no data
    page.goto(url)
    expect(page.get_by_role("heading", name="API token needed")).to_be_visible()
    expect(page.get_by_role("heading", name="Submit links")).to_be_hidden()
    page.set_viewport_size(PHONE)
    page.screenshot(path=screenshots / "phone-token.png", full_page=True)
    page.set_viewport_size(DESKTOP)

    # And a wrong token is refused with a clear reason
    page.get_by_label("API token", exact=True).fill("not-the-token")
    page.get_by_role("button", name="Use token").click()
    expect(page.locator("#token-reason")).to_contain_text("The saved token was refused")

    # When the right token is given
    page.get_by_label("API token", exact=True).fill(TOKEN)
    page.get_by_role("button", name="Use token").click()

    # Then the dashboard works: a link submitted through it completes
    link = site.url(f"/page/{sorted(expected_pages)[3]}")
    page.get_by_label("Links, one per line").fill(link)
    page.get_by_role("button", name="Submit links").click()
    expect(page.locator("#task-progress-text")).to_have_text("1 of 1 finished: 1 completed (100%)")

    # And a reload does not ask again: the token was kept
    page.reload()
    expect(page.get_by_role("heading", name="Submit links")).to_be_visible()
    expect(page.get_by_role("heading", name="API token needed")).to_be_hidden()
    expect(page.locator("#task-progress-text")).to_have_text("1 of 1 finished: 1 completed (100%)")


def test_cancel_in_the_page_stops_a_running_task_and_shows_its_items_cancelled(
    stack: Stack,
    site: PageSite,
    expected_pages: dict[str, dict[str, str]],
    page: Page,
    db: str,
    redis_url: str,
) -> None:
    # Given two pages that take seconds to answer
    urls = [site.url(f"/slow/page/{page_id}") for page_id in sorted(expected_pages)[4:6]]
    slow_before, site.slow_seconds = site.slow_seconds, 3.0
    try:
        page.goto(f"{stack.api_url}/")
        page.get_by_label("Links, one per line").fill("\n".join(urls))
        page.get_by_role("button", name="Submit links").click()
        expect(page.locator("#task-status")).to_have_text(re.compile("queued|running"))

        # When Cancel is clicked while they are fetched
        page.get_by_role("button", name="Cancel task").click()

        # Then the task ends cancelled, with nothing left to retry or cancel
        expect(page.locator("#task-notice")).to_have_text(
            re.compile(r"Cancelled: \d items? stopped now\.")
        )
        expect(page.locator("#task-status")).to_have_text("cancelled")
        expect(page.locator('#item-rows tr[data-status="cancelled"]')).to_have_count(2)
        expect(page.get_by_role("button", name="Cancel task")).to_be_disabled()
        expect(page.get_by_role("button", name="Retry failed items")).to_be_disabled()
    finally:
        site.slow_seconds = slow_before
