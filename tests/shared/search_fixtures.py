"""Links with an article, an enrichment and a page, written through the store."""

from __future__ import annotations

import hashlib
from typing import Any

from shared import search, store
from shared.models import Link
from tests.library import enrich


def add_link(
    slug: str,
    *,
    title: str,
    text: str,
    language: str | None = "en",
    summary: str | None = None,
    category: str = "Technology",
    tags: tuple[str, ...] = (),
    published: str | None = None,
    **link_values: Any,
) -> int:
    """Store a link's article (and enrichment, and page) as the stages would; return its id."""
    url = f"https://kb.example/{slug}"
    link = Link.create(url=url, normalized_url=url, **link_values)
    store.save_content(
        link.id,
        final_url=url,
        title=title,
        text=text,
        authors=[],
        published_at=None,
        language=language,
        top_image=None,
        word_count=len(text.split()),
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
    )
    if summary is not None:
        enrich(link.id, tags, summary, category=category, language=language)
    if published is not None:
        store.save_publication(
            link.id, publisher="markdown", page_id=slug, page_url=None, path=published
        )
    # A link parsed and not enriched is indexed by the reconciler's pass (PostgreSQL).
    search.reindex_stale()
    return int(link.id)


def add_library(**pages: dict[str, Any]) -> dict[str, int]:
    """Store several links (slug -> ``add_link`` arguments); return their ids by slug."""
    return {slug: add_link(slug, **values) for slug, values in pages.items()}


#: A small knowledge base in three languages.
LIBRARY: dict[str, dict[str, Any]] = {
    "solar": {
        "title": "Rooftop solar panels keep getting cheaper",
        "text": "Installers report that running costs of rooftop panels fell again this year.",
        "summary": "Solar panel prices fell again.",
        "category": "Science",
        "tags": ("energy", "solar"),
        "published": "export/solar.md",
    },
    "chess": {
        "title": "An opening repertoire for club players",
        "text": "The Sicilian defence rewards players who study its main lines.",
        "summary": "How to choose chess openings.",
        "category": "Sports",
        "tags": ("chess",),
    },
    "haeuser": {
        "title": "Neue Wohnungen in der Stadt",
        "text": "Die Häuser am Fluss wurden im Sommer gebaut und sind bereits vermietet.",
        "language": "de",
        "summary": "Neubauten am Fluss.",
        "category": "Business",
        "tags": ("Wohnen", "energy"),
    },
    "koshki": {
        "title": "Кошки и города",
        "text": "Бездомные кошки спали на крышах старых домов.",
        "language": "ru",
        "summary": "О городских кошках.",  # noqa: RUF001
        "category": "Science",
        "tags": ("кошки",),
    },
}
