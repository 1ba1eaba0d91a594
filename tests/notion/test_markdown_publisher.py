from __future__ import annotations

import datetime
import os
import stat
import string
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from services.notion.publishers import Publication, PublishDocument
from services.notion.publishers import markdown as markdown_module
from services.notion.publishers.markdown import (
    SLUG_MAX_BYTES,
    MarkdownPublisher,
    render_blocks,
    slugify,
)
from shared.blocks import Block
from shared.errors import PublishError, RetryableError
from tests.notion.commonmark import active_html, html, links, shown_blocks, split_front_matter
from tests.notion.documents import long_document

#: The front matter's keys, in the order the publisher writes them.
FRONT_MATTER_KEYS = [
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
    assert list(front) == FRONT_MATTER_KEYS


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
    heading = next(line for line in body.splitlines() if line.startswith("# "))
    assert shown_blocks(heading) == [" ".join(title.split())]


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
    assert "> First line: with a colon.\n> \\---\n" in body
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
        "Source: <https://example.com/articles/kb?id=1&lang=en>\n\n"
        "> Queues decouple producers from consumers.\n\n"
        "First paragraph of the article.\n\n"
        "Second paragraph, with detail.\n\n"
        "Third one.\n"
    )


def test_an_empty_summary_leaves_out_the_quote_block(tmp_path: Path) -> None:
    publication = MarkdownPublisher(tmp_path).publish(make_document(summary="  "), None)

    _, body = split_file(Path(publication.path or ""))
    assert not [line for line in body.splitlines() if line.startswith(">")]
    assert body.startswith("\n# How Queues Work\n\nSource: <https://example.com/")
    assert "\n\nFirst paragraph" in body


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
        ("Don't panic", "dont-panic"),
        ("東京 🚀", "東京"),
        ("商標法違反に\uff01\uff1f - 特許事務所", "商標法違反に-特許事務所"),
        ("Самые популярные блоги | wday.ru", "самые-популярные-блоги-wday-ru"),
        ("हिन्दी समाचार", "हिन्दी-समाचार"),
        ('a/b\\c:d*e?f"g<h>i|j', "a-b-c-d-e-f-g-h-i-j"),
        ("🚀 ✨", "untitled"),
        ("", "untitled"),
        ("---", "untitled"),
    ],
)
def test_slug_is_lowercase_words_joined_by_hyphens(title: str, slug: str) -> None:
    assert slugify(title) == slug


def test_a_long_slug_is_cut_at_a_word_boundary() -> None:
    title = "The quick brown fox jumps over the lazy dog and keeps running far away"

    slug = slugify(title)

    assert slug == "the-quick-brown-fox-jumps-over-the-lazy-dog-and-keeps"
    assert len(slug) <= 60


def test_a_long_slug_without_word_boundaries_is_cut_at_sixty_characters() -> None:
    assert slugify("x" * 100) == "x" * 60
    assert slugify("ab " + "y" * 100) == "ab-" + "y" * 57


def test_a_title_in_another_script_names_the_file(tmp_path: Path) -> None:
    publication = MarkdownPublisher(tmp_path).publish(make_document(title="東京の天気"), None)

    assert Path(publication.path or "").name == "東京の天気-42.md"


def test_a_title_without_letters_gets_an_untitled_file(tmp_path: Path) -> None:
    publication = MarkdownPublisher(tmp_path).publish(make_document(title="🚀 !!"), None)

    assert Path(publication.path or "").name == "untitled-42.md"


def test_a_long_slug_in_a_wide_script_stays_within_the_byte_limit() -> None:
    slug = slugify("東京" * 100)

    assert slug == "東京" * 30
    assert len(slug.encode()) <= SLUG_MAX_BYTES
    # Four-byte characters (Han extension B) are cut by bytes before characters.
    assert len(slugify("\U00020000" * 70).encode()) <= SLUG_MAX_BYTES


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
        "Source: <https://example.com/articles/kb?id=1&lang=en>\n\n"
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
        ("> not a quote", "&gt; not a quote"),
        ("- not a list", "\\- not a list"),
        ("1. not a list", "1\\. not a list"),
        ("---", "\\---"),
        ("```not code", "\\`\\`\\`not code"),
        ("a_b *c* [d](e) <f> & g", "a_b \\*c\\* \\[d\\](e) &lt;f&gt; &amp; g"),
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


#: Page and LLM text made to run in a reader's browser, in every form Markdown knows.
HOSTILE_TEXTS = [
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "![x](javascript:alert(1))",
    "<javascript:alert(1)>",
    "[x]: javascript:alert(1)\n[x] and [y][x]",
    "<script>alert(1)</script> and <a href='javascript:alert(1)'>a link</a>",
    "<div>\n<img src=x onerror=alert(1)>\n</div>",
    "| a | <img src=x onerror=alert(1)> |\n|---|---|\n| [x](javascript:alert(1)) | b |",
]
HOSTILE_TITLE = "<img src=x onerror=alert(1)> [x](javascript:alert(1))"
HOSTILE_CODE = "```\n<img src=x onerror=alert(1)>\n```\n[x](javascript:alert(1))"


def hostile_blocks() -> list[Block]:
    blocks: list[Block] = []
    for level, text in enumerate(HOSTILE_TEXTS[:3], start=1):
        blocks.append({"type": "heading", "level": level, "text": text})
    blocks += [{"type": "paragraph", "text": text} for text in HOSTILE_TEXTS]
    blocks += [{"type": "list_item", "ordered": False, "text": text} for text in HOSTILE_TEXTS]
    blocks += [{"type": "list_item", "ordered": True, "text": text} for text in HOSTILE_TEXTS]
    blocks += [{"type": "quote", "text": text} for text in HOSTILE_TEXTS]
    blocks.append({"type": "code", "text": HOSTILE_CODE})
    return blocks


def hostile_document(*, with_blocks: bool) -> PublishDocument:
    return make_document(
        title=HOSTILE_TITLE,
        summary="\n".join(HOSTILE_TEXTS),
        text="\n".join(HOSTILE_TEXTS),
        blocks=hostile_blocks() if with_blocks else [],
        tags=HOSTILE_TEXTS[:2],
        category=HOSTILE_TEXTS[5],
        authors=HOSTILE_TEXTS[:1],
    )


def published_body(tmp_path: Path, document: PublishDocument) -> str:
    path = Path(MarkdownPublisher(tmp_path).publish(document, None).path or "")
    return split_front_matter(path.read_text(encoding="utf-8"))[1]


def normalised(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("with_blocks", [True, False], ids=["blocks", "plain-text"])
def test_a_hostile_page_renders_to_markdown_without_html_or_active_links(
    tmp_path: Path, with_blocks: bool
) -> None:
    document = hostile_document(with_blocks=with_blocks)

    body = published_body(tmp_path, document)

    rendered = html(body)
    assert active_html(body) == []
    assert links(body) == [document.url]
    assert "<img" not in rendered
    assert "<script" not in rendered
    assert 'href="javascript:' not in rendered
    # Every piece of hostile text is still there, shown as the text it is.
    texts = [block["text"] for block in document.blocks] or document.text.splitlines()
    expected = [document.title, f"Source: {document.url}", document.summary, *texts]
    assert normalised(" ".join(shown_blocks(body))) == normalised(" ".join(expected))


def test_page_code_is_shown_literally_in_a_fence_it_cannot_close(tmp_path: Path) -> None:
    document = make_document(blocks=[{"type": "code", "text": HOSTILE_CODE}])

    body = published_body(tmp_path, document)

    assert shown_blocks(body)[-1] == HOSTILE_CODE + "\n"
    assert "````\n" + HOSTILE_CODE + "\n````" in body
    assert active_html(body) == []


def test_an_ordinary_article_reads_the_same_after_rendering(tmp_path: Path) -> None:
    paragraphs = [
        "Message queues let a producer hand work to a consumer without waiting for it.",
        "Redis, RabbitMQ and SQS are common brokers; each has trade-offs (latency, cost).",
        'A worker "acks" a message once it is done: 3 retries, then the dead-letter queue.',
        "It's 50% faster, e.g. with snake_case names, C++ or C#, and AT&T's network.",
        "Zoë's café — naïve “quotes”, 東京 and an emoji 🚀 read the same too.",
    ]
    document = make_document(text="\n".join(paragraphs), summary=paragraphs[0])

    body = published_body(tmp_path, document)

    assert shown_blocks(body) == [
        "How Queues Work",
        f"Source: {document.url}",
        paragraphs[0],
        *paragraphs,
    ]


def test_a_structured_article_reads_the_same_after_rendering(tmp_path: Path) -> None:
    document = long_document(2_000)

    body = published_body(tmp_path, document)

    shown = shown_blocks(body)[3:]  # after the title, the source and the summary
    assert shown == [
        block["text"] if block["type"] != "code" else block["text"].strip("\n") + "\n"
        for block in document.blocks
    ]


@pytest.mark.parametrize(
    ("url", "href"),
    [
        (
            "https://example.com/articles/kb?id=1&lang=en",
            "https://example.com/articles/kb?id=1&lang=en",
        ),
        ("https://en.example.org/wiki/Queue_(data)", "https://en.example.org/wiki/Queue_(data)"),
        ("http://example.com/a b<c>", "http://example.com/a%20b%3Cc%3E"),
    ],
)
def test_the_source_url_is_a_working_link(tmp_path: Path, url: str, href: str) -> None:
    body = published_body(tmp_path, make_document(url=url))

    assert links(body) == [href]
    assert shown_blocks(body)[1].startswith("Source: http")


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "ftp://x/y"]
)
def test_a_source_url_that_is_not_http_is_left_out_of_the_body(tmp_path: Path, url: str) -> None:
    path = Path(MarkdownPublisher(tmp_path).publish(make_document(url=url), None).path or "")

    front, body = split_file(path)

    assert front["url"] == url
    assert links(body) == []
    assert "Source:" not in body
    assert active_html(body) == []


@pytest.mark.parametrize(
    "value",
    [
        "---\nfoo: bar",
        "...\n---\nlink_id: 1\n---",
        "x\r---\rurl: javascript:alert(1)",
        "x\r\n---\r\nurl: javascript:alert(1)",
        "\u2028---\u2028url: javascript:alert(1)",
        "'\ntitle: injected",
        '"\nurl: "javascript:alert(1)',
        "{url: javascript:alert(1)}",
        "!!python/object/apply:os.system ['id']",
        "&anchor *alias |\n  block",
    ],
)
def test_front_matter_values_can_neither_add_keys_nor_end_it(tmp_path: Path, value: str) -> None:
    document = make_document(
        title=value, summary=value, category=value, tags=[value, "ok"], authors=[value]
    )

    path = Path(MarkdownPublisher(tmp_path).publish(document, None).path or "")

    content = path.read_text(encoding="utf-8")
    header, body = split_front_matter(content)
    front = yaml.safe_load(header)
    assert list(front) == FRONT_MATTER_KEYS
    assert (front["title"], front["summary"], front["category"]) == (value, value, value)
    assert (front["tags"], front["author"], front["url"]) == ([value, "ok"], [value], document.url)
    # No reader that splits lines more eagerly (at "\r" or U+2028) sees the end either.
    assert [line for line in header.splitlines() if line.rstrip() in ("---", "...")] == []
    assert body.startswith("\n# ")


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["heading", "paragraph", "list_item", "quote"]),
            st.booleans(),
            st.text(alphabet=string.punctuation + "ab1 \n\r\t", min_size=1, max_size=40),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_any_blocks_show_their_text_and_make_no_markup(
    specs: list[tuple[str, bool, str]],
) -> None:
    blocks: list[Block] = [
        {"type": kind, "text": text, "ordered": ordered, "level": 2}  # type: ignore[typeddict-item]
        for kind, ordered, text in specs
    ]

    markdown = "\n\n".join(render_blocks(blocks))

    assert active_html(markdown) == []
    assert links(markdown) == []
    shown = [block["text"] for block in blocks if block["text"].strip()]
    assert normalised(" ".join(shown_blocks(markdown))) == normalised(" ".join(shown))
