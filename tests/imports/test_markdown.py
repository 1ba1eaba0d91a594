"""The round trip to Markdown: what an export kept reaches the published file's front matter.

The link is imported from a file, its article and enrichment are stored as the parse
and enrich stages store them, and the local Markdown publisher writes it through the
publish stage's own document builder.
"""

from __future__ import annotations

import io
from pathlib import Path

import yaml

from services.notion.publish import build_publisher, document_for
from shared.imports.create import Importer, ImportOptions
from shared.models import Content, Enrichment, Link
from shared.settings import Settings
from tests.imports.make_fixtures import library, raindrop

ROWS = 100


def _front_matter(path: Path) -> dict[str, object]:
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    assert lines[0] == "---"
    end = lines.index("---", 1)  # the first line that is only "---" ends it
    matter: dict[str, object] = yaml.safe_load("\n".join(lines[1:end]))
    return matter


def _publish(settings: Settings, link: Link) -> Path:
    content = Content.create(link=link, final_url=link.url, title="Fetched title",
                             text="Body.", word_count=1, content_hash=f"h{link.id}")  # fmt: skip
    enrichment = Enrichment.create(link=link, summary="S.", category="Technology",
                                   tags=["queues"], sentiment="neutral", sentiment_score=0.0,
                                   provider="local", model="local")  # fmt: skip
    publisher = build_publisher(settings)
    publication = publisher.publish(document_for(link, content, enrichment), None)
    assert publication.path is not None
    return Path(publication.path)


def test_the_kept_metadata_reaches_the_front_matter(importer: Importer, settings: Settings) -> None:
    entries = library(ROWS)
    importer.run(io.BytesIO(raindrop(entries)), ImportOptions())
    entry = entries[90]  # a note, highlights, a folder and the favourite flag
    matter = _front_matter(_publish(settings, Link.get(Link.url == entry.url)))
    assert matter["user_title"] == entry.title
    assert matter["user_tags"] == entry.tags
    assert matter["saved"] == entry.iso
    assert matter["favourite"] is True
    assert matter["folder"] == entry.folder
    assert matter["note"] == entry.note
    assert matter["highlights"] == entry.highlights
    # The page's tags: the user's own first, then the enrichment's (`user_tags` marks
    # which were the user's)
    assert matter["tags"] == [*entry.tags, "queues"]


def test_a_link_never_imported_has_no_library_lines(importer: Importer, settings: Settings) -> None:
    link = importer.tasks.create_links(["https://example.org/plain"])[0]
    matter = _front_matter(_publish(settings, link))
    assert not {"user_title", "user_tags", "saved", "read_status", "note"} & set(matter)


def test_library_values_can_neither_add_keys_nor_end_the_front_matter(
    importer: Importer, settings: Settings
) -> None:
    hostile = "---\nurl: javascript:alert(1)"
    data = (
        "title,url,time_added,tags,status\n"
        f'"{hostile}",https://example.org/x,1600000000,"a: b|---",archive\n'
    ).encode()
    importer.run(io.BytesIO(data), ImportOptions())
    matter = _front_matter(_publish(settings, Link.get()))
    assert matter["url"] == "https://example.org/x"
    assert matter["user_title"] == hostile
    assert matter["user_tags"] == ["a: b", "---"]
    assert matter["read_status"] == "archived"
