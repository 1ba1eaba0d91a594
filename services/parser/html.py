"""HTML to lxml trees with one parser per thread.

An lxml tree keeps the string dictionary of the parser that built it, and libxml2's
dictionaries are not safe to change from two threads at once. trafilatura and
readability-lxml each parse with one module-level parser, so the trees of a worker's
threads shared one dictionary, and a parser process with several threads died now and
then of heap corruption ("double free or corruption", SIGSEGV) a few pages into its
work. Every tree the parser builds is made here instead, by the parser of the thread
that will use it, and the libraries are handed trees, never strings.
"""

from __future__ import annotations

import threading

import lxml.html
from lxml.etree import ParserError
from lxml.html import HtmlElement, HTMLParser
from trafilatura.utils import is_dubious_html, repair_faulty_html

_threads = threading.local()


def _parser(name: str, **options: object) -> HTMLParser:
    """Return this thread's parser ``name``, built with ``options`` on first use."""
    parser = getattr(_threads, name, None)
    if parser is None:
        parser = HTMLParser(**options)
        setattr(_threads, name, parser)
    return parser


def _page_parser() -> HTMLParser:
    """Return this thread's parser with trafilatura's options (no comments, PIs or ids)."""
    return _parser(
        "page",
        collect_ids=False,
        default_doctype=False,
        encoding="utf-8",
        remove_comments=True,
        remove_pis=True,
    )


def parse_page(html: str) -> HtmlElement | None:
    """Parse a whole page as ``trafilatura.load_html`` does; None if it is not HTML."""
    beginning = html[:50].lower()
    html = repair_faulty_html(html, beginning)
    tree: HtmlElement | None = None
    try:
        tree = lxml.html.fromstring(html, parser=_page_parser())
    except (ValueError, ParserError):
        # "Unicode strings with encoding declaration are not supported": try the bytes.
        tree = None
    if tree is None or len(tree) < 1:
        try:
            tree = lxml.html.fromstring(
                html.encode("utf-8", "surrogatepass"), parser=_page_parser()
            )
        except (ValueError, ParserError):
            return None
    if is_dubious_html(beginning) and len(tree) < 2:
        return None
    return tree if isinstance(tree, HtmlElement) else None


def parse_document(html: str) -> HtmlElement:
    """Parse a page as readability-lxml's ``build_doc`` does (UTF-8, bad bytes replaced)."""
    parser = _parser("document", encoding="utf-8")
    return lxml.html.document_fromstring(html.encode("utf-8", "replace"), parser=parser)


def parse_fragment(html: str) -> HtmlElement:
    """Parse an HTML fragment into one ``div`` holding it.

    ``lxml.html.fragment_fromstring(create_parent=…)`` would make that ``div`` with
    lxml.html's module-wide parser: it is made with this thread's instead.
    """
    parser = _parser("fragment")
    elements = lxml.html.fragments_fromstring(html, parser=parser)
    root: HtmlElement = parser.makeelement("div")
    if elements and isinstance(elements[0], str):
        root.text = elements.pop(0)
    root.extend(elements)
    return root
