"""Tags converge on the development pages, enriched by parallel threads on PostgreSQL.

The 61 article pages of ``shared/data/pages`` are extracted, stored, then enriched by
the ``local`` provider in four threads at once through the enrich stage's own path
(:func:`services.ai.actors.enrich_link`: the vocabulary, the checks, the atomic tag
claims). The figures are those ``bench/bench_tags.py`` prints, with the same targets.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import queue
import threading
from pathlib import Path

import pytest

from bench.bench_tags import saved_articles
from bench.tag_figures import (
    MAX_COMMON_WORDS,
    MAX_DISTINCT_PER_ITEM,
    MAX_USED_ONCE,
    tag_figures,
)
from services.ai import actors
from services.ai.enrich import build_provider
from services.parser.extract import extract_article
from shared import store
from shared.db import database
from shared.models import Link
from shared.settings import Settings

THREADS = 4


def _store_pages(pages_dir: Path) -> list[Link]:
    """Extract and store every page's article; return the links."""
    expected = json.loads((pages_dir / "expected.json").read_text())
    links = []
    with database.connection_context():
        for page_id, entry in expected.items():
            html = gzip.decompress((pages_dir / f"{page_id}.html.gz").read_bytes())
            article = extract_article(html.decode("utf-8", "replace"), entry["url"])
            link = Link.create(url=entry["url"], normalized_url=entry["url"])
            store.save_content(
                link.id,
                final_url=entry["url"],
                title=article.title,
                text=article.text,
                authors=[],
                published_at=None,
                language=article.language,
                top_image=None,
                word_count=len(article.text.split()),
                content_hash=hashlib.sha256(article.text.encode()).hexdigest(),
            )
            links.append(link)
    return links


@pytest.mark.timeout(300)
def test_tags_of_the_development_pages_converge_and_are_topics(
    settings: Settings, pages_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(actors, "_popular", (float("-inf"), []))
    monkeypatch.setattr(actors, "_newest_tag", 0)
    provider = build_provider(settings.model_copy(update={"ai_provider": "local"}))
    waiting: queue.Queue[Link] = queue.Queue()
    for link in _store_pages(pages_dir):
        waiting.put(link)
    errors: list[BaseException] = []

    def work() -> None:
        with database.connection_context():
            while True:
                try:
                    link = waiting.get_nowait()
                except queue.Empty:
                    return
                try:
                    actors.enrich_link(link, provider)
                except BaseException as ex:  # reported in the test's thread
                    errors.append(ex)

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(240)

    assert not errors, errors
    with database.connection_context():
        figures = tag_figures(saved_articles())
    summary = "; ".join(f"{name} {value}" for name, value in figures.rows())
    assert figures.items == 61, summary
    assert figures.distinct_per_item <= MAX_DISTINCT_PER_ITEM, summary
    assert figures.used_once <= MAX_USED_ONCE, summary
    assert figures.found_in_article == 1.0, figures.not_found
    assert figures.common_words <= MAX_COMMON_WORDS, summary
