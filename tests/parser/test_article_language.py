"""The parser's article language: detected from the text, the page's declaration a fallback."""

from __future__ import annotations

from pathlib import Path

from services.parser import metadata
from services.parser.extract import extract_article
from tests.parser.test_extract import PARAGRAPHS, handmade_page
from tests.shared.language_pages import load_language_pages

GERMAN = (
    "Die elektronische Patientenakte soll die Versorgung verbessern. Ärzte, Kliniken und "
    "Apotheken sollen Befunde, Medikationspläne und Arztbriefe darin austauschen können."
)


def test_real_pages_get_the_language_of_their_text(pages_dir: Path) -> None:
    for page in load_language_pages(pages_dir):
        article = extract_article(page.html, page.url)

        assert article.language == page.language, (page.url, page.declared)


def test_a_page_declared_english_with_a_german_text_is_german() -> None:
    page = handmade_page([GERMAN, GERMAN, GERMAN], lang='lang="en"')

    assert extract_article(page, "https://example.org/de").language == "de"


def test_the_declared_language_decides_when_the_text_is_too_short() -> None:
    assert metadata.article_language("Ja.", "de") == "de"
    assert metadata.article_language(GERMAN, "en") == "de"
    assert metadata.article_language("", None) is None


def test_an_english_page_that_declares_nothing_is_english() -> None:
    page = handmade_page(PARAGRAPHS, lang=None)

    assert extract_article(page, "https://example.org/en").language == "en"
