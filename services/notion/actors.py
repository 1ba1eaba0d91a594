"""The publish stage's actor: one page (or file) per link, rewritten on a retry."""

from __future__ import annotations

from functools import cache

from services.notion.publish import build_publisher, validate_document
from services.notion.publishers import Publication, PublishDocument, Publisher
from shared import store
from shared.pipeline import PUBLISH, stage_actor
from shared.settings import get_settings


@cache
def publisher() -> Publisher:
    """Return the process's publisher, built once from settings."""
    return build_publisher(get_settings())


@stage_actor(PUBLISH)
def publish_item(item_id: int) -> None:
    """Publish the enriched article of a task item's link."""
    link = store.link_of_item(item_id)
    content = store.content_of(link.id)
    enrichment = store.enrichment_of(link.id)
    document = PublishDocument(
        link_id=link.id,
        url=link.url,
        title=content.title,
        text=content.text,
        summary=enrichment.summary,
        category=enrichment.category,
        tags=list(enrichment.tags),
        sentiment=enrichment.sentiment,
        sentiment_score=enrichment.sentiment_score,
        authors=list(content.authors),
        published_at=content.published_at,
        language=enrichment.language or content.language,
    )
    validate_document(document)
    previous = store.publication_of(link.id)
    publication = publisher().publish(
        document,
        Publication(
            publisher=previous.publisher,
            page_id=previous.page_id,
            page_url=previous.page_url,
            path=previous.path,
        )
        if previous
        else None,
    )
    store.save_publication(
        link.id,
        publisher=publication.publisher,
        page_id=publication.page_id,
        page_url=publication.page_url,
        path=publication.path,
    )
