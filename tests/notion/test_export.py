"""The knowledge base's export: every link as JSON, the enriched ones as Markdown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from services.notion.export import export_knowledge_base
from shared import store
from shared.broker import build_broker
from shared.settings import Settings
from shared.tasks import TaskService
from tests.notion.commonmark import active_html, html, links, split_front_matter


@pytest.fixture()
def tasks(settings: Settings) -> TaskService:
    return TaskService(build_broker(settings, stub=True))


def test_an_export_holds_every_link_as_json_and_the_enriched_ones_as_markdown(
    tasks: TaskService, tmp_path: Path
) -> None:
    enriched, bare = tasks.create_links(["https://example.com/a", "https://example.com/b"])
    store.save_content(
        enriched.id,
        final_url=enriched.url,
        title="Lighthouses",
        text="Lighthouses guide ships.\n\nThey stand on rocks.",
        authors=["Ann"],
        published_at=None,
        language="en",
        top_image=None,
        word_count=7,
        content_hash="h1",
    )
    store.save_enrichment(
        enriched.id,
        tags=["sea"],
        summary="About lighthouses.",
        category="Science",
        sentiment="neutral",
        sentiment_score=0.0,
        language="en",
        provider="local",
        model="local",
    )

    report = export_knowledge_base(tmp_path, "20261202T0330Z")

    assert report.folder == tmp_path / "exports" / "20261202T0330Z"
    assert (report.links, report.markdown_files) == (2, 1)
    links = json.loads((report.folder / "knowledge-base.json").read_text())
    assert [link["url"] for link in links] == [enriched.url, bare.url]
    assert links[0]["enrichment"]["summary"] == "About lighthouses."
    (markdown,) = (report.folder / "markdown").glob("*.md")
    assert "Lighthouses guide ships." in markdown.read_text()
    assert list(report.folder.glob(".*")) == []  # no temporary file left behind


def test_the_exports_markdown_of_a_hostile_page_holds_no_html_or_active_links(
    tasks: TaskService, tmp_path: Path
) -> None:
    # Given a page and an enrichment whose text is made to run in a reader's browser
    (link,) = tasks.create_links(["https://example.com/hostile"])
    hostile = "<img src=x onerror=alert(1)> [x](javascript:alert(1)) <javascript:alert(1)>"
    store.save_content(
        link.id,
        final_url=link.url,
        title=hostile,
        text=f"{hostile}\n[x]: javascript:alert(1)\n[x]",
        authors=[hostile],
        published_at=None,
        language="en",
        top_image=None,
        word_count=9,
        content_hash="h-hostile",
        blocks=[
            {"type": "heading", "level": 1, "text": hostile},
            {"type": "paragraph", "text": "![x](javascript:alert(1))"},
            {"type": "list_item", "ordered": False, "text": hostile},
            {"type": "quote", "text": hostile},
            {"type": "code", "text": "```\n<img src=x onerror=alert(1)>\n```"},
        ],
    )
    store.save_enrichment(
        link.id,
        tags=[hostile],
        summary=hostile,
        category=hostile,
        sentiment="neutral",
        sentiment_score=0.0,
        language="en",
        provider="local",
        model="local",
    )

    # When the recurring job exports the knowledge base
    report = export_knowledge_base(tmp_path, "20261202T0330Z")

    # Then its Markdown file renders to text and the page's link only
    (markdown,) = (report.folder / "markdown").glob("*.md")
    header, body = split_front_matter(markdown.read_text(encoding="utf-8"))
    assert active_html(body) == []
    assert links(body) == [link.url]
    assert "<img" not in html(body)
    assert yaml.safe_load(header)["title"] == hostile
