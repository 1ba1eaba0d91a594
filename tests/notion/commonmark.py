"""A real CommonMark renderer for the Markdown tests: what a file shows and what it runs.

markdown-it-py follows the CommonMark spec and passes raw HTML through, as the reference
renderer does. It also drops ``javascript:`` links on its own, which many renderers do
not; this one keeps every link, so a test sees what the file itself holds.
"""

from __future__ import annotations

from html.parser import HTMLParser

from markdown_it import MarkdownIt
from markdown_it.token import Token

#: The elements the Markdown renderer's own syntax makes; any other one came from text.
EXPECTED_TAGS = frozenset(
    {"h1", "h2", "h3", "h4", "h5", "h6", "p", "blockquote", "ul", "ol", "li", "pre", "code", "a"}
)


def renderer() -> MarkdownIt:
    """Return a CommonMark renderer with GFM tables and strikethrough, keeping every link."""
    markdown = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    markdown.validateLink = lambda url: True  # type: ignore[method-assign]
    return markdown


def split_front_matter(content: str) -> tuple[str, str]:
    """Return a file's YAML front matter and its body, as front-matter-aware tools do."""
    assert content.startswith("---\n")
    header, body = content[len("---\n") :].split("\n---\n", 1)
    return header, body


def html(markdown: str) -> str:
    """Return Markdown rendered to HTML."""
    return renderer().render(markdown)


def tokens(markdown: str) -> list[Token]:
    """Return every token of a Markdown text, inline ones included, in order."""
    flat: list[Token] = []
    for token in renderer().parse(markdown):
        flat.append(token)
        flat.extend(token.children or [])
    return flat


def links(markdown: str) -> list[str]:
    """Return the targets of every link and image in a Markdown text, in order."""
    return [
        str(token.attrGet("href") if token.type == "link_open" else token.attrGet("src"))
        for token in tokens(markdown)
        if token.type in ("link_open", "image")
    ]


def shown_blocks(markdown: str) -> list[str]:
    """Return the text a reader sees, one string per paragraph, heading, item or code."""
    shown: list[str] = []
    for token in renderer().parse(markdown):
        if token.type in ("fence", "code_block"):
            shown.append(token.content)
        elif token.type == "inline":
            shown.append("".join(_shown_inline(child) for child in token.children or []))
    return shown


def _shown_inline(token: Token) -> str:
    if token.type in ("softbreak", "hardbreak"):
        return "\n"
    return token.content if token.type in ("text", "code_inline", "html_inline") else ""


class ElementCensus(HTMLParser):
    """The elements and attributes of an HTML text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.extend((tag, name, value) for name, value in attrs)


def active_html(markdown: str) -> list[str]:
    """Return what the rendered Markdown holds beyond text, headings, lists and http links.

    That is: elements the renderer's syntax does not make (``img``, ``script``, …), event
    handler attributes, and links whose target is not http(s).
    """
    census = ElementCensus()
    census.feed(html(markdown))
    census.close()
    problems = [f"<{tag}>" for tag in sorted(census.tags - EXPECTED_TAGS)]
    for tag, name, value in census.attributes:
        if (tag, name) != ("a", "href"):
            problems.append(f"<{tag} {name}={value!r}>")
        elif not (value or "").lower().startswith(("http://", "https://")):
            problems.append(f"<a href={value!r}>")
    problems += [
        f"raw HTML {token.content!r}"
        for token in tokens(markdown)
        if token.type in ("html_block", "html_inline")
    ]
    return problems
