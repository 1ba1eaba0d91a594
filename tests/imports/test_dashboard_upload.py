"""The dashboard's upload box, in headless Chromium against the real gateway app.

The gateway is served over HTTP on loopback from this process (no workers: the import's
answer comes before any link is processed).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from shared.models import Link

if TYPE_CHECKING:
    from playwright.sync_api import Page

ROWS = 300


def test_an_export_uploaded_in_the_page_shows_its_report_and_opens_its_task(
    served_gateway: str, page: Page, exports: dict[str, Path]
) -> None:
    from playwright.sync_api import expect

    page.goto(f"{served_gateway}/")
    page.set_input_files("#import-file", str(exports["netscape"]))
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#import-notice")).to_contain_text("Task #1 queued with 300 links")
    report = page.locator("#import-report")
    expect(report).to_contain_text("Netscape bookmark file")
    expect(report).to_contain_text("New links")
    expect(page.locator("#import-refusals")).to_contain_text("credentials")
    expect(page).to_have_url(f"{served_gateway}/#task/1")
    assert Link.select().count() == ROWS


def test_a_dry_run_and_a_bad_file_in_the_page(
    served_gateway: str, page: Page, exports: dict[str, Path], tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page.goto(f"{served_gateway}/")
    page.set_input_files("#import-file", str(exports["pocket-csv"]))
    page.get_by_label("Dry run: only report what would be imported").check()
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#import-notice")).to_contain_text("Dry run: nothing imported")
    assert Link.select().count() == 0
    bad = tmp_path / "export.csv"
    bad.write_bytes(b"title,url,tags\nA,https://example.org/a,x\n")
    page.set_input_files("#import-file", str(bad))
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#import-error")).to_contain_text("'time_added'")
