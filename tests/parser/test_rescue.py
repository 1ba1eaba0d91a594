"""A declared article that trafilatura's quick reading cut short is read with its fallbacks."""

from __future__ import annotations

from typing import Any

import pytest

from services.parser import extract
from services.parser.extractors import Extraction
from services.parser.html import parse_page
from shared.blocks import Block

URL = "https://news.example.com/2024/03/05/harbour"


def paragraph(text: str) -> Block:
    return {"type": "paragraph", "text": text}


def fake_trafilatura(short: list[Block], full: list[Block]) -> Any:
    """Return a stand-in for the extractor: ``short`` without fallbacks, ``full`` with."""

    def fake(tree: Any, url: str, *, fast: bool = True, **_options: Any) -> Extraction:
        return Extraction("trafilatura", short if fast else full)

    return fake


@pytest.fixture
def page() -> Any:
    body = "".join(f"<p>Paragraph {n} of the harbour story, told at length.</p>" for n in range(60))
    tree = parse_page(f"<html><head><title>Harbour</title></head><body>{body}</body></html>")
    assert tree is not None
    return tree


def test_a_reading_that_kept_a_small_share_of_the_page_is_read_again(
    page: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    short = [paragraph("Paragraph 0 of the harbour story.")]
    full = [paragraph(f"Paragraph {n} of the harbour story, told at length.") for n in range(60)]
    monkeypatch.setattr(extract.trafilatura_extractor, "extract", fake_trafilatura(short, full))
    primary = Extraction("trafilatura", short)
    assert extract._rescue(page, URL, primary, short, ["Harbour"]) == full


def test_a_reading_that_kept_most_of_the_page_is_not_read_again(
    page: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = [paragraph(f"Paragraph {n} of the harbour story, told at length.") for n in range(15)]
    monkeypatch.setattr(extract.trafilatura_extractor, "extract", fake_trafilatura(kept, kept * 3))
    primary = Extraction("trafilatura", kept)
    assert extract._rescue(page, URL, primary, kept, ["Harbour"]) is None


def test_the_fallbacks_are_kept_only_when_they_find_much_more(
    page: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    short = [paragraph("Paragraph 0 of the harbour story, told at length.")]
    similar = [*short, paragraph("And one line more.")]
    monkeypatch.setattr(extract.trafilatura_extractor, "extract", fake_trafilatura(short, similar))
    primary = Extraction("trafilatura", short)
    assert extract._rescue(page, URL, primary, short, ["Harbour"]) is None
