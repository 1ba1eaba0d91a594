"""The local provider on the article benchmark's pages in Portuguese, Russian, German,
Indonesian and Japanese: their language, tags, summary and Markdown file name.

Each page's expected article text and its title (read from the page's HTML) go through
the provider with the language the page declares, as the parse stage hands them over.
Stopwords are checked against the stopwords-iso lists themselves, not the provider's.
Without the pages (``../shared/data/pages``) the tests are skipped.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import stopwordsiso

from services.ai.providers import ArticleInput, Enrichment
from services.ai.providers.local import LocalProvider
from services.ai.scripts import is_grammar_kana
from services.ai.summary import SUMMARY_MAX_CHARS
from services.ai.text import MAX_WIDE_WORD_CHARS, words
from services.notion.publishers.base import PublishDocument
from services.notion.publishers.markdown import MarkdownPublisher
from shared.settings import DEFAULT_CATEGORIES
from tests.conftest import SHARED_DATA
from tests.shared.language_pages import LanguagePage, load_language_pages

#: Stopwords users saw as tags before languages were detected from the text.
SEEN_AS_TAGS = {"die", "und", "der", "von", "den", "что", "для", "есть", "или", "dan", "yang"}
#: Inflected Russian function words the stopword lists miss, which tagged the Russian page.
INFLECTED_FUNCTION_WORDS = {"можете", "какую"}


@pytest.fixture(scope="module")
def pages_dir_module() -> Path:
    folder = SHARED_DATA / "pages"
    if not (folder / "expected.json").exists():
        pytest.skip(f"article pages not found at {folder}")
    return folder


@pytest.fixture(scope="module")
def enriched(pages_dir_module: Path) -> list[tuple[LanguagePage, Enrichment]]:
    provider = LocalProvider(DEFAULT_CATEGORIES, 3)
    found = []
    for page in load_language_pages(pages_dir_module):
        article = ArticleInput(
            title=page.title, text=page.text, language=page.declared, url=page.url
        )
        found.append((page, provider.enrich(article, ())))
    return found


def test_each_page_is_detected_in_its_own_language(
    enriched: list[tuple[LanguagePage, Enrichment]],
) -> None:
    detected = {page.page_id[:8]: result.language for page, result in enriched}

    assert detected == {page.page_id[:8]: page.language for page, _ in enriched}
    # Including the German page whose HTML says lang="en".
    assert any(page.declared == "en" and page.language == "de" for page, _ in enriched)


def test_no_tag_is_a_stopword_of_the_page_language(
    enriched: list[tuple[LanguagePage, Enrichment]],
) -> None:
    for page, result in enriched:
        stopwords = stopwordsiso.stopwords(page.language) | stopwordsiso.stopwords("en")
        assert 3 <= len(result.tags) <= 5, (page.url, result.tags)
        for tag in result.tags:
            tag_words = words(tag, page.language)
            assert tag_words, (page.url, tag)
            seen = SEEN_AS_TAGS | INFLECTED_FUNCTION_WORDS
            assert not set(tag_words) & (stopwords | seen), (page.url, result.tags)


def test_japanese_tags_are_words_not_clauses(
    enriched: list[tuple[LanguagePage, Enrichment]],
) -> None:
    (result,) = [result for page, result in enriched if page.language == "ja"]

    for tag in result.tags:
        assert len(tag) <= MAX_WIDE_WORD_CHARS, result.tags
        assert not set(tag) & set(" 、。\uff01\uff1f「」"), result.tags
        assert not is_grammar_kana(tag), result.tags


def test_summaries_are_sentences_of_the_text(
    enriched: list[tuple[LanguagePage, Enrichment]],
) -> None:
    for page, result in enriched:
        assert 0 < len(result.summary) <= SUMMARY_MAX_CHARS, page.url
        assert result.summary[:40] in " ".join(page.text.split()), page.url
    (japanese,) = [result for page, result in enriched if page.language == "ja"]
    # Japanese sentences follow each other without a space.
    assert "。" in japanese.summary and "。 " not in japanese.summary


def test_every_page_gets_a_markdown_file_named_after_its_title(
    enriched: list[tuple[LanguagePage, Enrichment]], tmp_path: Path
) -> None:
    publisher = MarkdownPublisher(tmp_path)
    for link_id, (page, result) in enumerate(enriched, start=1):
        document = PublishDocument(
            link_id=link_id,
            url=page.url,
            title=page.title,
            text=page.text,
            summary=result.summary,
            category=result.category,
            tags=result.tags,
            sentiment=result.sentiment,
            sentiment_score=result.sentiment_score,
            authors=[],
            published_at=None,
            language=result.language,
        )
        name = Path(publisher.publish(document, None).path or "").name

        assert not name.startswith("untitled"), (page.url, name)
        assert name.endswith(f"-{link_id}.md") and len(name.encode()) <= 255
        # The name starts with the title's first word, in the title's own script.
        assert name.startswith(words(page.title, page.language)[0][:2]), (page.title, name)
