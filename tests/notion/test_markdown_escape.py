"""The escaping rule of the Markdown renderer, checked with a real CommonMark renderer."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from services.notion.markdown_escape import autolink, escape_heading, escape_text, fenced_code
from tests.notion.commonmark import active_html, html, links, shown_blocks

#: Text a fetched page or the LLM could hold to make HTML, images or links run.
HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    '<a href="javascript:alert(1)">click</a>',
    "<!-- a comment --> <?php x ?> <![CDATA[x]]>",
    "[x](javascript:alert(1))",
    "[x](<javascript:alert(1)>)",
    '[x](javascript:alert(1) "title")',
    "![x](javascript:alert(1))",
    "![x](https://tracker.example/pixel.gif)",
    "<javascript:alert(1)>",
    "<https://example.com/plain-autolink> <mail@example.com>",
    "[x]: javascript:alert(1)\n\n[x] and [x][] and [y][x]",
    "[^1] and [[wiki link]]",
    "\\<img src=x onerror=alert(1)>",
    "&lt;img src=x onerror=alert(1)&gt; &#60;b&#62; &amp;",
    "<div>\n<img src=x onerror=alert(1)>\n</div>",
    "    <img src=x onerror=alert(1)>",
    "a\r<img src=x onerror=alert(1)>\r\n[x](javascript:alert(1))",
    "| a | b |\n|---|---|\n| <img src=x> | [x](javascript:y) |",
]

#: Text that is Markdown syntax, which must show as the characters it is.
SYNTAX = [
    "# not a heading\n## nor this\n####### nor this",
    "> not a quote",
    "- not a list\n+ nor this\n* nor this\n1. nor this\n2) nor this",
    "a paragraph\n===\nand\n---\nand\n-\nand\n=",
    "***\n___\n- - -\n* * *",
    "```\nnot code\n```\n~~~\nnor this\n~~~",
    "*em* _em_ **strong** __strong__ ~~struck~~ ~one~ `code` ``co`de``",
    "$x^2$ and $$y$$, price $5",
    "ends with a backslash\\\nand two spaces  \nthen more",
    "\\* already escaped \\_ and \\\\ and a lone \\",
]

#: Ordinary prose, which reads the same after escaping and rendering.
ORDINARY = [
    "Queues decouple producers from consumers.",
    "It's 5 o'clock: \"time\" (roughly) for tea, e.g. Earl Grey; 50% off!",
    "snake_case names and __dunder__ methods, C++ and C#, AT&T, 3 < 4 > 2",
    "Zoë's café — naïve “quotes” 東京タワー 👩‍👩‍👧‍👦",
]

#: Characters that mean something to Markdown or HTML, to build text from.
MARKUP_ALPHABET = string.punctuation + "ab1 \t\n\r" + "é東\u00a0"


def normalised(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("text", HOSTILE + SYNTAX + ORDINARY)
def test_escaped_text_shows_exactly_the_text_and_makes_no_markup(text: str) -> None:
    markdown = escape_text(text)

    assert active_html(markdown) == []
    assert links(markdown) == []
    assert normalised("\n".join(shown_blocks(markdown))) == normalised(text)


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_makes_no_tag_and_no_javascript_link(text: str) -> None:
    rendered = html(escape_text(text))

    for tag in ("<img", "<script", "<a ", "<div", "<!--", "<?php"):
        assert tag not in rendered
    assert 'href="javascript:' not in rendered.lower()


@given(st.text(alphabet=MARKUP_ALPHABET, max_size=80))
def test_any_text_shows_as_itself_and_makes_no_markup(text: str) -> None:
    markdown = escape_text(text)

    assert active_html(markdown) == []
    assert links(markdown) == []
    assert normalised("\n".join(shown_blocks(markdown))) == normalised(text)


@given(st.text(alphabet=MARKUP_ALPHABET, max_size=80))
def test_any_heading_shows_as_itself_on_one_line(text: str) -> None:
    markdown = "## " + escape_heading(text)

    assert active_html(markdown) == []
    assert shown_blocks(markdown) == [normalised(text)]


def test_a_heading_keeps_a_trailing_hash() -> None:
    assert shown_blocks("## " + escape_heading("Issue #")) == ["Issue #"]
    assert shown_blocks("## " + escape_heading("#")) == ["#"]


def test_ordinary_text_stays_readable_in_the_file() -> None:
    assert escape_text("snake_case and some_thing, it's fine.") == (
        "snake_case and some_thing, it's fine."
    )
    assert escape_text("#hashtag and -5 degrees") == "#hashtag and -5 degrees"


def test_every_bracket_of_link_syntax_is_escaped_for_lenient_renderers() -> None:
    # CommonMark needs only "]" escaped; wiki links and other flavours need "[" too.
    assert escape_text("[[wiki]] ![x](y)") == "\\[\\[wiki\\]\\] \\!\\[x\\](y)"


@pytest.mark.parametrize(
    "code",
    [
        "x = '```'",
        "```\n<img src=x onerror=alert(1)>\n```\n[x](javascript:alert(1))",
        "````\n`````\n``",
        "~~~\nnot a fence here\n~~~",
        "    indented\n\ttabbed\n<div>\n</div>",
        "line one\r\nline two\rline three",
    ],
)
def test_code_stays_literal_and_cannot_close_its_fence(code: str) -> None:
    markdown = fenced_code(code)

    assert shown_blocks(markdown) == [re.sub(r"\r\n?", "\n", code) + "\n"]
    assert active_html(markdown) == []
    assert "<img" not in html(markdown)


@given(st.text(alphabet=MARKUP_ALPHABET, min_size=1, max_size=80))
def test_any_code_is_one_block_showing_the_code(code: str) -> None:
    body = re.sub(r"\r\n?", "\n", code).strip("\n")
    assume(body)  # the renderer leaves out blank blocks

    markdown = fenced_code(code)

    assert shown_blocks(markdown) == [body + "\n"]


@pytest.mark.parametrize(
    ("url", "href"),
    [
        ("https://example.com/a?b=1&c=2#d", "https://example.com/a?b=1&c=2#d"),
        ("http://example.com/wiki/Queue_(data)", "http://example.com/wiki/Queue_(data)"),
        ('https://example.com/a b<c>"d"', "https://example.com/a%20b%3Cc%3E%22d%22"),
        ("https://example.com/\\*not*escaped_&amp;", "https://example.com/%5C*not*escaped_&amp;"),
        ("HTTPS://EXAMPLE.COM/", "HTTPS://EXAMPLE.COM/"),
    ],
)
def test_an_http_url_is_a_working_link(url: str, href: str) -> None:
    link = autolink(url)

    assert link is not None
    assert links(link) == [href]
    assert active_html(link) == []


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript://example.com/%0aalert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        " https://example.com/",
        "https:javascript:alert(1)",
        "https:///example.com",
        "//example.com/",
        "ftp://example.com/",
        "",
    ],
)
def test_a_url_of_any_other_kind_is_no_link(url: str) -> None:
    assert autolink(url) is None
