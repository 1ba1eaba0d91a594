"""HTML parsing with one lxml parser per thread: the trees of a worker's threads never
share a parser (and its string dictionary), and pages parse as trafilatura parses them.
"""

from __future__ import annotations

import gzip
import subprocess
import sys
import threading
from pathlib import Path

import lxml.html
import trafilatura
from lxml.html import HTMLParser
from readability.htmls import utf8_parser

from services.parser.extractors.readability import _Document
from services.parser.html import parse_document, parse_fragment, parse_page

PAGE = "<html><head><title>T</title></head><body><p>One paragraph of text.</p></body></html>"


def _parsers_in_a_thread() -> list[HTMLParser]:
    found: list[HTMLParser] = []

    def run() -> None:
        found.extend(
            [
                parse_page(PAGE).getroottree().parser,  # type: ignore[union-attr]
                parse_document(PAGE).getroottree().parser,
                parse_fragment("<p>x</p>").getroottree().parser,
            ]
        )

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return found


def test_each_thread_parses_with_its_own_parsers_and_reuses_them() -> None:
    first, second = _parsers_in_a_thread(), _parsers_in_a_thread()
    here = _parsers_in_a_thread()
    assert len({id(parser) for parser in first + second + here}) == 9
    tree = parse_page(PAGE)
    assert tree is not None
    assert tree.getroottree().parser is parse_page(PAGE).getroottree().parser  # type: ignore[union-attr]


def test_readability_parses_with_the_threads_parser_not_its_module_wide_one() -> None:
    document = _Document(PAGE)
    tree = document._parse(PAGE)
    assert tree.getroottree().parser is not utf8_parser
    assert tree.getroottree().parser is parse_document(PAGE).getroottree().parser


def test_pages_parse_exactly_as_trafilatura_parses_them(pages_dir: Path) -> None:
    pages = sorted(pages_dir.glob("*.html.gz"))
    assert pages
    for path in pages:
        html = gzip.decompress(path.read_bytes()).decode("utf-8", "replace")
        ours, theirs = parse_page(html), trafilatura.load_html(html)
        assert ours is not None and theirs is not None, path.name
        assert lxml.html.tostring(ours) == lxml.html.tostring(theirs), path.name


def test_text_that_is_not_html_is_refused_as_trafilatura_refuses_it() -> None:
    for text in ("", "   ", "plain words, no markup", "<p>one fragment</p>"):
        assert parse_page(text) is None
        assert trafilatura.load_html(text) is None


STRESS = """
import gzip, sys, threading
from pathlib import Path
from services.parser.extract import extract_article
pages = [gzip.decompress(p.read_bytes()).decode("utf-8", "replace")
         for p in sorted(Path(sys.argv[1]).glob("*.html.gz"))][:16]
def work(first):
    for index in range(first, len(pages), 4):
        extract_article(pages[index], f"https://example.com/{index}")
threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
for thread in threads: thread.start()
for thread in threads: thread.join()
"""


def test_four_threads_extracting_at_once_do_not_corrupt_the_heap(pages_dir: Path) -> None:
    # With module-wide parsers, about one cold process in twenty died of heap corruption
    # (SIGSEGV or SIGABRT) on this load; each run here is a fresh process.
    for _ in range(5):
        result = subprocess.run(
            [sys.executable, "-X", "faulthandler", "-c", STRESS, str(pages_dir)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr[-3000:]
