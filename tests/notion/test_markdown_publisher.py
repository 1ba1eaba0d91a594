from __future__ import annotations

import datetime
import os
import stat
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.notion.publishers import Publication, PublishDocument
from services.notion.publishers import markdown as markdown_module
from services.notion.publishers.markdown import MarkdownPublisher, slugify
from shared.blocks import Block
from shared.errors import PublishError, RetryableError


def make_document(**changes: Any) -> PublishDocument:
    document = PublishDocument(
        link_id=42,
        url="https://example.com/articles/kb?id=1&lang=en",
        title="How Queues Work",
        text="First paragraph of the article.\nSecond paragraph, with detail.\n\nThird one.",
        summary="Queues decouple producers from consumers.",
        category="Technology",
        tags=["queues", "redis", "dramatiq"],
        sentiment="positive",
        sentiment_score=0.61,
        authors=["Ada Lovelace", "Grace Hopper"],
        published_at=datetime.date(2024, 3, 5),
        language="en",
    )
    return replace(document, **changes)


def split_file(path: Path) -> tuple[dict[str, Any], str]:
    content = path.read_text(encoding="utf-8")
    assert content.startswith("---\n")
    header, body = content[len("---\n") :].split("\n---\n", 1)
    return yaml.safe_load(header), body


def markdown_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.md"))


def test_front_matter_holds_every_field_of_the_document(tmp_path: Path) -> None:
    document = make_document()

    publication = MarkdownPublisher(tmp_path).publish(document, None)

    front, _ = split_file(Path(publication.path or ""))
    assert front == {
        "title": "How Queues Work",
        "url": "https://example.com/articles/kb?id=1&lang=en",
        "tags": ["queues", "redis", "dramatiq"],
        "category": "Technology",
        "sentiment": "positive",
        "sentiment_score": 0.61,
        "summary": "Queues decouple producers from consumers.",
        "author": ["Ada Lovelace", "Grace Hopper"],
        "published": datetime.date(2024, 3, 5),
        "language": "en",
        "link_id": 42,
    }
    assert list(front) == [
        "title",
        "url",
        "tags",
        "category",
        "sentiment",
        "sentiment_score",
        "summary",
        "author",
        "published",
        "language",
        "link_id",
    ]


@pytest.mark.parametrize(
    "title",
    [
        "Breaking: the CEO says \"no\" — and 'maybe'",
        "Zoë's café: naïve über-Straße 東京 🚀",
        "- starts like a list item",
        "# not a heading: {yaml: flow} [list] & *alias !tag %",
        "yes",
        "null",
        "2024-01-01",
        "Title with\na newline",
    ],
)
def test_tricky_titles_round_trip_through_the_front_matter(tmp_path: Path, title: str) -> None:
    publication = MarkdownPublisher(tmp_path).publish(make_document(title=title), None)

    front, body = split_file(Path(publication.path or ""))
    assert front["title"] == title
    assert f"# {' '.join(title.split())}\n" in body


def test_multiline_summary_and_unusual_values_round_trip(tmp_path: Path) -> None:
    document = make_document(
        summary='First line: with a colon.\n---\nSecond line, "quoted".\n\nAfter a blank.',
        tags=["c++", "key: value", "日本語"],
        authors=["Smith, John"],
        published_at=None,
        language=None,
        sentiment="negative",
        sentiment_score=-0.25,
    )

    front, body = split_file(Path(MarkdownPublisher(tmp_path).publish(document, None).path or ""))

    assert front["summary"] == document.summary
    assert front["tags"] == ["c++", "key: value", "日本語"]
    assert front["author"] == ["Smith, John"]
    assert front["published"] is None
    assert front["language"] is None
    assert front["sentiment"] == "negative"
    assert front["sentiment_score"] == -0.25
    assert "> First line: with a colon.\n> ---\n" in body
    assert "\n>\n> After a blank." in body


def test_a_timestamp_is_published_as_its_date(tmp_path: Path) -> None:
    document = make_document(published_at=datetime.datetime(2024, 3, 5, 17, 30))

    front, _ = split_file(Path(MarkdownPublisher(tmp_path).publish(document, None).path or ""))

    assert front["published"] == datetime.date(2024, 3, 5)


def test_body_has_the_title_summary_and_every_paragraph_in_order(tmp_path: Path) -> None:
    publication = MarkdownPublisher(tmp_path).publish(make_document(), None)

    _, body = split_file(Path(publication.path or ""))
    assert body == (
        "\n# How Queues Work\n\n"
        "> Queues decouple producers from consumers.\n\n"
        "First paragraph of the article.\n\n"
        "Second paragraph, with detail.\n\n"
        "Third one.\n"
    )


def test_an_empty_summary_leaves_out_the_quote_block(tmp_path: Path) -> None:
    publication = MarkdownPublisher(tmp_path).publish(make_document(summary="  "), None)

    _, body = split_file(Path(publication.path or ""))
    assert ">" not in body
    assert body.startswith("\n# How Queues Work\n\nFirst paragraph")


def test_publication_names_the_absolute_file_and_a_stable_page_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    publication = MarkdownPublisher(Path("export")).publish(make_document(), None)

    expected = tmp_path / "export" / "how-queues-work-42.md"
    assert publication == Publication(
        publisher="markdown", page_id="markdown:42", page_url=None, path=str(expected)
    )
    assert expected.is_file()
    assert MarkdownPublisher.name == "markdown"


def test_a_missing_export_folder_is_created(tmp_path: Path) -> None:
    folder = tmp_path / "a" / "b" / "export"

    MarkdownPublisher(folder).publish(make_document(), None)

    assert [path.name for path in markdown_files(folder)] == ["how-queues-work-42.md"]


def test_publishing_twice_rewrites_the_same_file(tmp_path: Path) -> None:
    publisher = MarkdownPublisher(tmp_path)
    first = publisher.publish(make_document(), None)

    second = publisher.publish(make_document(summary="A newer summary."), first)

    assert second == first
    assert markdown_files(tmp_path) == [Path(first.path or "")]
    front, body = split_file(Path(second.path or ""))
    assert front["summary"] == "A newer summary."
    assert "> A newer summary." in body


def test_a_title_change_leaves_exactly_one_file_for_the_link(tmp_path: Path) -> None:
    publisher = MarkdownPublisher(tmp_path)
    first = publisher.publish(make_document(), None)
    other_link = publisher.publish(make_document(link_id=7, title="Other"), None)

    second = publisher.publish(make_document(title="How Queues Really Work"), first)

    assert second.page_id == first.page_id
    assert second.path == str(tmp_path / "how-queues-really-work-42.md")
    assert markdown_files(tmp_path) == sorted([Path(second.path), Path(other_link.path or "")])
    assert split_file(Path(second.path))[0]["title"] == "How Queues Really Work"


def test_stray_files_of_the_link_are_removed_even_without_a_previous_publication(
    tmp_path: Path,
) -> None:
    # Given files left by a crash between the write and the clean-up, and a
    # neighbour whose id merely ends in the same digits
    (tmp_path / "old-title-42.md").write_text("stale", encoding="utf-8")
    (tmp_path / "older-title-42.md").write_text("stale", encoding="utf-8")
    (tmp_path / "neighbour-142.md").write_text("keep", encoding="utf-8")
    (tmp_path / "notes.md").write_text("keep", encoding="utf-8")

    MarkdownPublisher(tmp_path).publish(make_document(), None)

    assert [path.name for path in markdown_files(tmp_path)] == [
        "how-queues-work-42.md",
        "neighbour-142.md",
        "notes.md",
    ]


def test_the_previous_file_is_removed_from_an_older_export_folder(tmp_path: Path) -> None:
    old = MarkdownPublisher(tmp_path / "old").publish(make_document(), None)

    MarkdownPublisher(tmp_path / "new").publish(make_document(), old)

    assert markdown_files(tmp_path / "old") == []
    assert len(markdown_files(tmp_path / "new")) == 1


def test_a_previous_path_that_is_not_the_links_file_is_never_deleted(tmp_path: Path) -> None:
    foreign = tmp_path / "elsewhere" / "important.md"
    foreign.parent.mkdir()
    foreign.write_text("keep", encoding="utf-8")
    previous = Publication(
        publisher="markdown", page_id="markdown:42", page_url=None, path=str(foreign)
    )

    MarkdownPublisher(tmp_path / "export").publish(make_document(), previous)

    assert foreign.read_text(encoding="utf-8") == "keep"


def test_a_previous_path_through_a_symlink_does_not_delete_the_new_file(tmp_path: Path) -> None:
    real = tmp_path / "real"
    alias = tmp_path / "alias"
    real.mkdir()
    alias.symlink_to(real)
    first = MarkdownPublisher(alias).publish(make_document(), None)

    second = MarkdownPublisher(real).publish(make_document(), first)

    assert Path(second.path or "").is_file()
    assert markdown_files(real) == [Path(second.path or "")]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publisher = MarkdownPublisher(tmp_path)
    first = publisher.publish(make_document(), None)
    before = Path(first.path or "").read_bytes()

    def crash(source: str, target: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(markdown_module.os, "replace", crash)

    with pytest.raises(PublishError, match="No space left on device"):
        publisher.publish(make_document(summary="never written"), first)
    assert Path(first.path or "").read_bytes() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["how-queues-work-42.md"]


def test_files_are_readable_by_others(tmp_path: Path) -> None:
    publication = MarkdownPublisher(tmp_path).publish(make_document(), None)

    assert stat.S_IMODE(os.stat(publication.path or "").st_mode) == 0o644


def test_an_export_folder_under_a_regular_file_is_a_retryable_publish_error(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    folder = blocker / "export"

    with pytest.raises(PublishError) as caught:
        MarkdownPublisher(folder).publish(make_document(), None)

    assert isinstance(caught.value, RetryableError)
    assert str(folder) in str(caught.value)
    assert "Not a directory" in str(caught.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through any permission bits")
def test_a_read_only_export_folder_is_a_publish_error(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(PublishError, match="Permission denied") as caught:
            MarkdownPublisher(folder).publish(make_document(), None)
    finally:
        folder.chmod(0o700)

    assert str(folder) in str(caught.value)


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("How Queues Work", "how-queues-work"),
        ("  Hello,   World!!  ", "hello-world"),
        ("Crème brûlée à la carte", "creme-brulee-a-la-carte"),
        ("Straße, Æsir & Łódź", "strasse-aesir-lodz"),
        ("C++ vs. C#: 10 differences", "c-vs-c-10-differences"),
        ("../../etc/passwd", "etc-passwd"),
        ("東京 🚀", "untitled"),
        ("", "untitled"),
        ("---", "untitled"),
    ],
)
def test_slug_is_lowercase_ascii_words_joined_by_hyphens(title: str, slug: str) -> None:
    assert slugify(title) == slug


def test_a_long_slug_is_cut_at_a_word_boundary() -> None:
    title = "The quick brown fox jumps over the lazy dog and keeps running far away"

    slug = slugify(title)

    assert slug == "the-quick-brown-fox-jumps-over-the-lazy-dog-and-keeps"
    assert len(slug) <= 60


def test_a_long_slug_without_word_boundaries_is_cut_at_sixty_characters() -> None:
    assert slugify("x" * 100) == "x" * 60
    assert slugify("ab " + "y" * 100) == "ab-" + "y" * 57


def test_a_title_without_ascii_letters_gets_an_untitled_file(tmp_path: Path) -> None:
    publication = MarkdownPublisher(tmp_path).publish(make_document(title="東京"), None)

    assert Path(publication.path or "").name == "untitled-42.md"


def test_the_body_has_the_structure_of_the_notion_page(tmp_path: Path) -> None:
    blocks: list[Block] = [
        {"type": "heading", "level": 1, "text": "Background"},
        {"type": "paragraph", "text": "Why queues matter."},
        {"type": "list_item", "ordered": False, "text": "decoupling"},
        {"type": "list_item", "ordered": False, "text": "back-pressure"},
        {"type": "list_item", "ordered": True, "text": "send"},
        {"type": "list_item", "ordered": True, "text": "consume\nand ack"},
        {"type": "heading", "level": 3, "text": "A  detail"},
        {"type": "quote", "text": "Queues are\nbuffers."},
        {"type": "code", "text": "broker.send(message)\n"},
        {"type": "paragraph", "text": "   "},
    ]

    publication = MarkdownPublisher(tmp_path).publish(make_document(blocks=blocks), None)

    _, body = split_file(Path(publication.path or ""))
    assert body == (
        "\n# How Queues Work\n\n"
        "> Queues decouple producers from consumers.\n\n"
        "## Background\n\n"
        "Why queues matter.\n\n"
        "- decoupling\n- back-pressure\n\n"
        "1. send\n2. consume\n   and ack\n\n"
        "#### A detail\n\n"
        "> Queues are\n> buffers.\n\n"
        "```\nbroker.send(message)\n```\n"
    )


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("# not a heading", "\\# not a heading"),
        ("> not a quote", "\\> not a quote"),
        ("- not a list", "\\- not a list"),
        ("1. not a list", "1\\. not a list"),
        ("---", "\\---"),
        ("```not code", "\\```not code"),
        ("#hashtag and -5 degrees", "#hashtag and -5 degrees"),
    ],
)
def test_text_that_reads_as_markdown_syntax_is_escaped(
    tmp_path: Path, text: str, written: str
) -> None:
    document = make_document(blocks=[{"type": "paragraph", "text": text}])

    _, body = split_file(Path(MarkdownPublisher(tmp_path).publish(document, None).path or ""))

    assert body.endswith(f"\n\n{written}\n")


def test_code_holding_backticks_gets_a_longer_fence(tmp_path: Path) -> None:
    document = make_document(blocks=[{"type": "code", "text": "x = '```'"}])

    _, body = split_file(Path(MarkdownPublisher(tmp_path).publish(document, None).path or ""))

    assert body.endswith("\n\n````\nx = '```'\n````\n")
