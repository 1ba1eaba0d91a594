"""Links with an enrichment (and a page), written as the stages would, for the tests."""

from __future__ import annotations

from typing import Any

from shared import store
from shared.db import database
from shared.models import Link

#: What an enrichment holds besides its tags and summary, unless a test says otherwise.
ENRICHMENT_DEFAULTS: dict[str, Any] = {
    "category": "Science",
    "sentiment": "neutral",
    "sentiment_score": 0.0,
    "provider": "local",
    "model": "test",
}


def enrich(link_id: int, tags: list[str], summary: str = "s", **values: Any) -> None:
    """Store an enrichment of ``link_id`` as the ai stage would (defaults for the rest)."""
    store.save_enrichment(link_id, tags=tags, summary=summary, **{**ENRICHMENT_DEFAULTS, **values})


def enriched_link(n: int, tags: list[str], *, published: bool = False) -> int:
    """Store link ``n`` with an enrichment carrying ``tags`` (and a Markdown page); its id."""
    with database.connection_context():
        link = Link.create(url=f"https://ex.org/{n}", normalized_url=f"https://ex.org/{n}")
        enrich(link.id, tags)
        if published:
            store.save_publication(
                link.id, publisher="markdown", page_id=f"p{n}", page_url=None, path=f"{n}.md"
            )
        return int(link.id)
