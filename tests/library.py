"""Links with an enrichment (and a page), written as the stages would, for the tag tests."""

from __future__ import annotations

from shared import store
from shared.db import database
from shared.models import Link


def enriched_link(n: int, tags: list[str], *, published: bool = False) -> int:
    """Store link ``n`` with an enrichment carrying ``tags`` (and a Markdown page); its id."""
    with database.connection_context():
        link = Link.create(url=f"https://ex.org/{n}", normalized_url=f"https://ex.org/{n}")
        store.save_enrichment(
            link.id,
            tags=tags,
            summary="s",
            category="Science",
            sentiment="neutral",
            sentiment_score=0.0,
            provider="local",
            model="m",
        )
        if published:
            store.save_publication(
                link.id, publisher="markdown", page_id=f"p{n}", page_url=None, path=f"{n}.md"
            )
        return int(link.id)
