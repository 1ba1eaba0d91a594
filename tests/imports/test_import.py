"""Importing on the real stack: one task, what each row became, idempotent, merged."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from shared.imports.create import Importer, ImportOptions
from shared.models import Feed, Link, Task, TaskItem
from tests.imports.make_fixtures import DUPLICATES, REFUSED, VARIANTS, library

ROWS = 300
LINK_FORMATS = ("pocket-csv", "pocket-html", "netscape", "instapaper", "raindrop", "readwise",
                "omnivore", "karakeep", "linkwarden", "text")  # fmt: skip


def _run(importer: Importer, path: Path, **options: Any) -> dict[str, Any]:
    with path.open("rb") as raw:
        return importer.run(raw, ImportOptions(**options)).as_dict()


@pytest.mark.parametrize("name", LINK_FORMATS)
def test_an_export_becomes_one_task_with_its_report(
    importer: Importer, exports: dict[str, Path], name: str
) -> None:
    report = _run(importer, exports[name])
    refused = len(REFUSED) + (1 if name == "karakeep" else 0)
    assert report["format"] == name
    assert report["rows_read"] == ROWS + DUPLICATES + VARIANTS + refused
    assert report["links_new"] == ROWS
    assert report["duplicate_rows"] == DUPLICATES
    assert report["merged_by_normalisation"] == VARIANTS
    assert report["refused"] == refused
    assert report["already_known"] == 0
    assert report["items_queued"] == ROWS
    assert report["status"] == "queued"
    reasons = {r["url"]: r["reason"] for r in report["refusals"]}
    assert "scheme must be http or https" in reasons["ftp://files.example/archive.zip"]
    assert "credentials" in reasons["https://user:secret@private.example/a"]
    assert all(r["row"] > 0 for r in report["refusals"])
    assert Task.select().count() == 1
    task = Task.get()
    assert (task.type, task.total_items, task.status) == ("import", ROWS, "queued")
    assert task.source == "import"
    assert TaskItem.select().count() == ROWS
    assert Link.select().count() == ROWS


@pytest.mark.parametrize("name", LINK_FORMATS)
def test_importing_twice_creates_no_second_link_item_or_task(
    importer: Importer, exports: dict[str, Path], name: str
) -> None:
    _run(importer, exports[name])
    again = _run(importer, exports[name])
    assert again["links_new"] == 0
    assert again["already_known"] == ROWS
    assert again["items_queued"] == 0
    assert again["task_id"] is None
    assert again["links_updated"] == 0
    assert (Link.select().count(), TaskItem.select().count(), Task.select().count()) == (
        ROWS, ROWS, 1,
    )  # fmt: skip


def test_two_services_exports_of_one_library_merge(
    importer: Importer, exports: dict[str, Path]
) -> None:
    _run(importer, exports["pocket-csv"])
    second = _run(importer, exports["raindrop"])
    assert second["links_new"] == 0
    assert second["task_id"] is None
    assert Link.select().count() == ROWS
    entry = library(ROWS)[6]  # has a note in Raindrop, a status in Pocket
    link = Link.get(Link.url == entry.url)
    assert link.user_title == entry.title
    assert link.read_status == entry.status
    assert link.note == entry.note
    assert link.folder == entry.folder
    assert link.imported_from == "pocket-csv"
    assert set(link.user_tags) == set(entry.tags)


def test_www_and_scheme_variants_and_tracking_join_a_known_link(importer: Importer) -> None:
    first = io.BytesIO(b"https://www.example.org/a?utm_source=x&id=1\n")
    importer.run(first, ImportOptions())
    second = io.BytesIO(b"http://example.org/a?id=1&fbclid=abc#top\nhttps://example.org/b\n")
    report = importer.run(second, ImportOptions()).as_dict()
    assert report["merged_by_normalisation"] == 1
    assert report["links_new"] == 1
    assert Link.select().count() == 2


def test_a_url_known_as_a_redirect_target_joins_that_link(importer: Importer) -> None:
    from shared.models import Content

    importer.run(io.BytesIO(b"https://short.example/x\n"), ImportOptions())
    link = Link.get()
    Content.create(link=link, final_url="https://blog.example/post", title="t", text="x",
                   word_count=1, content_hash="h")  # fmt: skip
    report = importer.run(io.BytesIO(b"https://blog.example/post\n"), ImportOptions()).as_dict()
    assert report["links_new"] == 0
    assert report["merged_by_normalisation"] == 1
    assert Link.select().count() == 1


def test_a_dry_run_reports_and_writes_nothing(importer: Importer, exports: dict[str, Path]) -> None:
    report = _run(importer, exports["netscape"], dry_run=True)
    assert report["dry_run"] is True
    assert report["links_new"] == ROWS
    assert report["items_queued"] == ROWS
    assert report["task_id"] is None
    assert (Link.select().count(), Task.select().count()) == (0, 0)


def test_opml_subscribes_feeds_once(importer: Importer, exports: dict[str, Path]) -> None:
    report = _run(importer, exports["opml"])
    assert report["feeds_subscribed"] == 20
    assert report["links_new"] == 0
    assert report["task_id"] is None
    assert Feed.select().count() == 20
    again = _run(importer, exports["opml"])
    assert (again["feeds_subscribed"], again["feeds_known"]) == (0, 20)
    assert Feed.select().count() == 20


def test_known_links_never_tasked_get_an_item(importer: Importer) -> None:
    importer.tasks.create_links(["https://example.org/kept"])
    report = importer.run(io.BytesIO(b"https://example.org/kept\n"), ImportOptions()).as_dict()
    assert report["already_known"] == 1
    assert report["items_queued"] == 1


def test_the_task_runs_the_stages_and_priority_asked(importer: Importer) -> None:
    report = importer.run(
        io.BytesIO(b"https://example.org/a\n"), ImportOptions(stages=["parse"], priority="low")
    ).as_dict()
    task = Task.get_by_id(report["task_id"])
    assert (task.stages, task.priority) == (["parse"], "low")
