"""Write text from pages and the LLM into Markdown so that it reads as text, never as markup.

Everything the Markdown renderer writes that it did not make itself (the title, the
summary, the article's headings, paragraphs, list items, quotes and code) comes from a
fetched web page or from the LLM, and may hold HTML or Markdown made to run in a reader's
browser: ``<img src=x onerror=…>``, ``[x](javascript:…)``, ``![x](…)``, autolinks
``<javascript:…>``, reference definitions ``[x]: javascript:…``. This module is the one
rule for writing such text, after CommonMark (https://spec.commonmark.org/0.31.2/):

* :func:`escape_text` and :func:`escape_heading`: ``<``, ``>`` and ``&`` become entities,
  so no tag, autolink, HTML block or character reference can start; the punctuation that
  makes links, images, emphasis, code spans, tables, strikethrough and math gets a
  backslash; so does syntax that opens a block at the start of a line. The rendered text
  is the original text, character for character (a line's leading and trailing blanks
  aside, which Markdown drops anyway).
* :func:`fenced_code`: code stays literal inside a fence longer than any run of backticks
  in it, which therefore cannot close it.
* :func:`autolink`: the only links written are the renderer's own (the page's source URL),
  as CommonMark autolinks, whose text is taken literally; http and https only.
"""

from __future__ import annotations

import re

#: Characters escaped wherever they are, with what replaces them: ``\`` (escapes),
#: ``[``/``]`` (links, images, reference definitions, footnotes, wiki links), the
#: backtick (code spans and fences), ``*``/``_`` (emphasis, thematic breaks), ``|`` (tables),
#: ``~`` (strikethrough, fences), ``$`` (math in GitHub and Obsidian), ``!`` before ``[``
#: (images). ``(`` and ``)`` need nothing: with ``]`` escaped no link destination starts.
_INLINE = re.compile(r"[\\\[\]`*_|~$<>&]|!(?=\[)")
_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}

#: Markdown's line endings (CommonMark 2.1): a lone carriage return ends a line too.
_LINE_END = re.compile(r"\r\n|\r|\n")

#: What opens a block at the start of a line once its indent is gone and the inline
#: characters are escaped: an ATX heading, a bullet or ordered list item, a setext
#: underline or a thematic break of ``-`` or ``=``. (``>``, ``<``, the backtick, ``~``, ``*``,
#: ``_``, ``|`` and ``[`` are escaped wherever they are.)
_BLOCK_START = re.compile(
    r"^(?:(?P<mark>#{1,6}|[-+])(?=[ \t]|$)|(?P<number>\d{1,9})(?=[.)](?:[ \t]|$))"
    r"|(?P<rule>[-=])(?=[-= \t]*$))"
)

#: An ATX heading's optional closing sequence: ``#``s after a blank, at the end.
_CLOSING_HASHES = re.compile(r"(?<=[ \t])#+$")

#: URLs written as links; a page's URL is http or https, so anything else is refused.
_LINK_SCHEME = re.compile(r"(?i)https?://[^/?#\s]")

#: What an autolink cannot hold (CommonMark 6.5): ASCII controls, space, ``<`` and ``>``.
_NOT_IN_AUTOLINK = re.compile(r"[\x00-\x20\x7f<>]")


def escape_text(text: str) -> str:
    """Return ``text`` as Markdown that renders as that text, its lines kept.

    Each line loses its leading and trailing blanks (leading ones would make indented
    code, trailing ones a hard break); blank lines stay, so a paragraph break does too.
    """
    return "\n".join(_escape_line(line) for line in _LINE_END.split(text))


def escape_heading(text: str) -> str:
    """Return ``text`` as the content of an ATX heading: one line, whitespace collapsed."""
    line = _escape_line(" ".join(text.split()))
    # "Issue #" would otherwise lose its "#" as the heading's closing sequence.
    return _CLOSING_HASHES.sub(lambda match: "\\" + match[0], line)


def fenced_code(code: str) -> str:
    """Return ``code`` as a fenced code block that shows it literally.

    The fence is one backtick longer than the longest run of backticks in the code (and
    at least three), so no line of the code can close it.
    """
    body = "\n".join(_LINE_END.split(code)).strip("\n")
    runs = re.findall("`+", body)
    fence = "`" * max(3, 1 + max((len(run) for run in runs), default=0))
    return f"{fence}\n{body}\n{fence}"


def autolink(url: str) -> str | None:
    """Return an http(s) URL as a CommonMark autolink, or ``None`` for any other URL.

    The characters an autolink cannot hold (controls, space, ``<``, ``>``) are
    percent-encoded; the rest is kept as it is, since an autolink's text is literal: no
    backslash escape or entity in it is decoded, and ``(`` or ``)`` does not end it.
    """
    if not _LINK_SCHEME.match(url):
        return None
    encoded = _NOT_IN_AUTOLINK.sub(lambda match: _percent_encoded(match[0]), url)
    return f"<{encoded}>"


def _escape_line(line: str) -> str:
    """Return one line of text, stripped, with its inline and block syntax escaped."""
    escaped = _INLINE.sub(_escape_inline, line.strip(" \t"))
    return _BLOCK_START.sub(_escape_block_start, escaped, count=1)


def _escape_inline(match: re.Match[str]) -> str:
    """Return the escape of one inline character; an underscore inside a word needs none."""
    char = match[0]
    if char in _ENTITIES:
        return _ENTITIES[char]
    if char == "_" and _inside_word(match.string, match.start()):
        # snake_case stays readable: CommonMark never reads such an "_" as emphasis.
        return char
    return "\\" + char


def _inside_word(text: str, index: int) -> bool:
    """Tell whether the character at ``index`` has a letter or digit on both sides."""
    return 0 < index < len(text) - 1 and text[index - 1].isalnum() and text[index + 1].isalnum()


def _escape_block_start(match: re.Match[str]) -> str:
    """Return the escape of the syntax that would open a block at a line's start."""
    if match["number"]:
        # A backslash escapes punctuation only: an ordered list's is the "." or ")" next.
        return match["number"] + "\\"
    return "\\" + match[0]


def _percent_encoded(char: str) -> str:
    """Return an ASCII character as its %XX escape."""
    return f"%{ord(char):02X}"
