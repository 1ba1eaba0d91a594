"""Each format is recognised by its content and read with what it carries."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.imports.detect import detect
from shared.imports.records import Record
from tests.imports.make_fixtures import BASE_TIME, DUPLICATES, REFUSED, VARIANTS, library

ROWS = 300
LINK_FORMATS = ("pocket-csv", "pocket-html", "netscape", "instapaper", "raindrop", "readwise",
                "omnivore", "karakeep", "linkwarden", "text")  # fmt: skip


def _read(path: Path) -> tuple[str, list[Record]]:
    with path.open("rb") as raw:
        fmt = detect(raw)
        return fmt.name, list(fmt.read(raw, 10**9))


@pytest.mark.parametrize("name", [*LINK_FORMATS, "opml"])
def test_each_format_is_recognised_by_content(exports: dict[str, Path], name: str) -> None:
    # The file names say nothing: a copy named .dat is recognised the same.
    blind = exports[name].with_suffix(".dat")
    blind.write_bytes(exports[name].read_bytes())
    with blind.open("rb") as raw:
        assert detect(raw).name == name


@pytest.mark.parametrize("name", LINK_FORMATS)
def test_every_row_is_read_in_order(exports: dict[str, Path], name: str) -> None:
    _, records = _read(exports[name])
    expected = library(ROWS)
    extra = 1 if name == "karakeep" else 0  # its text note, refused later
    assert len(records) == ROWS + DUPLICATES + VARIANTS + len(REFUSED) + extra
    assert {r.url for r in records} >= {e.url for e in expected}


TITLED = ("pocket-csv", "pocket-html", "netscape", "instapaper", "raindrop", "readwise",
          "omnivore", "karakeep", "linkwarden")  # fmt: skip


@pytest.mark.parametrize("name", TITLED)
def test_titles_tags_and_dates_are_kept(exports: dict[str, Path], name: str) -> None:
    _, records = _read(exports[name])
    by_url = {r.url: r for r in records}
    for entry in library(ROWS)[:ROWS]:
        record = by_url[entry.url]
        assert record.title == entry.title  # quotes, commas, non-ASCII
        assert set(entry.tags) <= set(record.tags), (entry.tags, record.tags)
        assert record.saved_at == datetime.fromtimestamp(entry.saved, UTC).replace(tzinfo=None)
        assert not record.warnings


@pytest.mark.parametrize(
    "name", ["pocket-csv", "pocket-html", "instapaper", "readwise", "omnivore", "karakeep"]
)
def test_archived_status_is_kept(exports: dict[str, Path], name: str) -> None:
    _, records = _read(exports[name])
    by_url = {r.url: r for r in records}
    for entry in library(ROWS)[:ROWS]:
        assert (by_url[entry.url].read_status == "archived") == (entry.status == "archived")


def test_netscape_folders_become_the_folder_and_tags(exports: dict[str, Path]) -> None:
    _, records = _read(exports["netscape"])
    by_url = {r.url: r for r in records}
    for entry in library(ROWS)[:ROWS]:
        record = by_url[entry.url]
        assert record.folder == (entry.folder or None)
        for part in filter(None, entry.folder.split("/")):
            assert part in record.tags
        assert record.note == (entry.note or None)


@pytest.mark.parametrize("name", ["raindrop", "linkwarden", "karakeep"])
def test_notes_favourites_and_highlights(exports: dict[str, Path], name: str) -> None:
    _, records = _read(exports[name])
    by_url = {r.url: r for r in records}
    for entry in library(ROWS)[:ROWS]:
        record = by_url[entry.url]
        assert record.note == (entry.note or None)
        assert bool(record.favourite) == entry.favourite
        if name == "raindrop":
            assert [h["text"] for h in record.highlights] == entry.highlights


def test_omnivore_highlights_and_instapaper_selection(exports: dict[str, Path]) -> None:
    for name in ("omnivore", "instapaper"):
        _, records = _read(exports[name])
        by_url = {r.url: r for r in records}
        for entry in library(ROWS)[:ROWS]:
            texts = [h["text"] for h in by_url[entry.url].highlights]
            assert texts == (entry.highlights if name == "omnivore" else entry.highlights[:1])


def test_opml_outlines_are_feeds_with_their_category(exports: dict[str, Path]) -> None:
    _, records = _read(exports["opml"])
    assert len(records) == 20
    assert all(r.is_feed and r.folder == "Tech" for r in records)
    assert records[0].title == "Feed 0 & co"


def test_dates_in_seconds_milliseconds_and_iso_are_read() -> None:
    from shared.imports.records import parse_date

    moment = datetime.fromtimestamp(BASE_TIME, UTC).replace(tzinfo=None)
    assert parse_date(str(BASE_TIME)) == moment
    assert parse_date(BASE_TIME * 1000) == moment
    assert parse_date("2020-09-13T12:26:40Z") == moment
    assert parse_date("2020-09-13T14:26:40+02:00") == moment
    assert parse_date("2020-09-13 12:26:40") == moment


@pytest.mark.parametrize("name", ["netscape", "pocket-html"])
def test_thousands_of_unclosed_entries_are_all_read(name: str) -> None:
    # <DT> is never closed: a tree builder nesting each in the one before stops at its
    # depth limit (256) after a few hundred bookmarks.
    from tests.imports.make_fixtures import WRITERS

    data = WRITERS[name][1](library(3000))
    with io.BytesIO(data) as raw:
        assert len(list(detect(raw).read(raw, 10**9))) == 3000 + DUPLICATES + VARIANTS + len(
            REFUSED
        )
