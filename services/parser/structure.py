"""Turn an extractor's element tree into article blocks (the ``shared/blocks.py`` format).

Two vocabularies arrive here: HTML (readability's summary, newspaper's top node) and
trafilatura's XML (``head``, ``p``, ``list``/``item``, ``quote``, ``code``, ``table``/
``row``/``cell``, ``lb``). Text inside a block is plain, whitespace collapsed; line
breaks are kept, and code keeps its layout.
"""

from __future__ import annotations

from collections.abc import Callable

from lxml.etree import _Element

from shared.blocks import Block

# (type, heading level or list ordering) of the block an element opens.
Kind = tuple[str, int | bool | None]
KindOf = Callable[[_Element, Kind], Kind | None]

_PARAGRAPH: Kind = ("paragraph", None)
# Marks a <br> while text is collected: newlines in the source are only whitespace.
_BREAK = "\ue000"
_SKIPPED = frozenset(
    {
        "script",
        "style",
        "noscript",
        "template",
        "svg",
        "button",
        "select",
        "input",
        "textarea",
        "iframe",
        "object",
        "embed",
        "graphic",
        # What a browser without the element shows ("Your browser does not support…").
        "video",
        "audio",
        "canvas",
    }
)
_HTML_BLOCKS = frozenset(
    {
        "address",
        "article",
        "aside",
        "body",
        "center",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "form",
        "header",
        "hr",
        "main",
        "ol",
        "p",
        "section",
        "summary",
        "table",
        "tbody",
        "tfoot",
        "thead",
        "tr",
        "ul",
    }
)
_HTML_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 3, "h5": 3, "h6": 3}
_TRAFILATURA_BLOCKS = frozenset({"p", "list", "table", "row", "div", "body", "doc", "main"})
_CELLS = frozenset({"td", "th", "cell"})


def blocks_from_html(root: _Element, skip: Callable[[_Element], bool] | None = None) -> list[Block]:
    """Return the blocks of an HTML element tree.

    ``skip`` names the elements left out with everything in them (their tail text is kept).
    """
    return _Walker(_html_kind, skip).blocks(root)


def blocks_from_trafilatura(root: _Element) -> list[Block]:
    """Return the blocks of trafilatura's XML body."""
    return _Walker(_trafilatura_kind).blocks(root)


def _nested(inherited: Kind) -> Kind:
    # Paragraphs inside a quote or code block stay quote or code blocks.
    return inherited if inherited[0] in ("quote", "code") else _PARAGRAPH


def _html_kind(element: _Element, inherited: Kind) -> Kind | None:
    tag = str(element.tag).lower()
    if tag in _HTML_HEADINGS:
        return ("heading", _HTML_HEADINGS[tag])
    if tag == "li":
        parent = element.getparent()
        return ("list_item", parent is not None and str(parent.tag).lower() == "ol")
    if tag == "blockquote":
        return ("quote", None)
    if tag == "pre":
        return ("code", None)
    if tag in _HTML_BLOCKS:
        return _nested(inherited)
    return None


def _trafilatura_kind(element: _Element, inherited: Kind) -> Kind | None:
    tag = str(element.tag)
    if tag == "head":
        rend = element.get("rend", "h2")
        level = int(rend[1:]) if rend[1:].isdigit() else 2
        return ("heading", min(max(level, 1), 3))
    if tag == "item":
        parent = element.getparent()
        return ("list_item", parent is not None and parent.get("rend") == "ol")
    if tag == "quote":
        return ("quote", None)
    if tag == "code":
        return ("code", None)
    if tag in _TRAFILATURA_BLOCKS:
        return _nested(inherited)
    return None


class _Walker:
    """Collect text into the current block; a block element closes it and opens its own."""

    def __init__(self, kind_of: KindOf, skip: Callable[[_Element], bool] | None = None) -> None:
        self.kind_of = kind_of
        self.skip = skip
        self.out: list[Block] = []
        self.buffer: list[str] = []

    def blocks(self, root: _Element) -> list[Block]:
        self._walk(root, _PARAGRAPH, tail=False)
        self._flush(_PARAGRAPH)
        return self.out

    def _walk(self, element: _Element, current: Kind, *, tail: bool = True) -> None:
        tag = element.tag if isinstance(element.tag, str) else None
        if tag is not None and tag not in _SKIPPED and not (self.skip and self.skip(element)):
            kind = self.kind_of(element, current)
            if tag in ("br", "lb"):
                self.buffer.append(_BREAK)
            elif tag in _CELLS:
                self.buffer.append(" | ")
            if kind is not None:
                self._flush(current)
                self._text_and_children(element, kind)
                self._flush(kind)
            else:
                self._text_and_children(element, current)
        if tail and element.tail:
            self.buffer.append(element.tail)

    def _text_and_children(self, element: _Element, kind: Kind) -> None:
        if element.text:
            self.buffer.append(element.text)
        for child in element:
            self._walk(child, kind)

    def _flush(self, kind: Kind) -> None:
        raw = "".join(self.buffer)
        self.buffer.clear()
        block_type, detail = kind
        if block_type == "code":
            text = raw.replace(_BREAK, "\n").strip("\n").rstrip()
        else:
            lines = (" ".join(line.split()) for line in raw.split(_BREAK))
            text = "\n".join(line for line in lines if line)
            # Cells separated by " | " leave a bar at either end of a row.
            text = text.strip(" |") if "|" in text else text
        if not text.strip():
            return
        block: Block = {"type": block_type, "text": text}  # type: ignore[typeddict-item]
        if block_type == "heading":
            block["level"] = int(detail or 2)
        elif block_type == "list_item":
            block["ordered"] = bool(detail)
        self.out.append(block)
