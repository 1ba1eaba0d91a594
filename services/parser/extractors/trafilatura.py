"""trafilatura: the best single extractor here, and the source of the metadata."""

from __future__ import annotations

import logging

import trafilatura
from lxml.html import HtmlElement
from trafilatura.settings import Document

from services.parser.extractors import Extraction
from services.parser.structure import blocks_from_trafilatura

NAME = "trafilatura"
log = logging.getLogger(__name__)


def extract(
    tree: HtmlElement,
    url: str,
    *,
    fast: bool = True,
    with_metadata: bool = True,
    include_comments: bool = False,
) -> Extraction | None:
    """Extract the article of a parsed page; trafilatura works on a copy of ``tree``.

    ``fast`` skips trafilatura's own fallbacks (a readability port and jusText): the
    combination asks readability-lxml itself, so running them twice only costs time.
    ``with_metadata=False`` skips trafilatura's search for a title, authors and a date
    (half its time on pages that are not articles). ``include_comments`` adds the
    comments trafilatura finds after the main text, as ``trafilatura.extract`` does.
    """
    try:
        document = trafilatura.bare_extraction(
            tree,
            url=url,
            fast=fast,
            with_metadata=with_metadata,
            include_comments=include_comments,
            include_images=False,
            include_links=False,
        )
    except Exception as ex:  # a library bug on one page must not fail the page
        log.warning("trafilatura failed on %s: %r", url, ex)
        return None
    if not isinstance(document, Document) or document.body is None:
        return None
    body = blocks_from_trafilatura(document.body)
    comments = []
    if include_comments and document.commentsbody is not None:
        # On a short page trafilatura's body may hold the comments already.
        kept = {block["text"] for block in body}
        comments = [
            block
            for block in blocks_from_trafilatura(document.commentsbody)
            if block["text"] not in kept
        ]
    authors = (name.strip() for name in (document.author or "").split(";"))
    return Extraction(
        extractor=NAME,
        blocks=body + comments,
        title=" ".join((document.title or "").split()),
        # trafilatura joins several authors with "; ".
        authors=list(dict.fromkeys(name for name in authors if name)),
        date=document.date,
        image=document.image,
    )
