"""The publish stage's plain code: choose the publisher, build and check the document."""

from __future__ import annotations

import hashlib
import logging

import redis

from services.notion.client import NotionAPI
from services.notion.publishers import PublishDocument, Publisher
from services.notion.publishers.markdown import MarkdownPublisher
from services.notion.publishers.notion import NotionPublisher
from services.notion.shared_state import SharedCache
from shared.blocks import Block, paragraphs_from_text, validate_blocks
from shared.errors import MissingInput
from shared.imports.library import front_matter, merged_tags
from shared.models import Content, Enrichment, Link
from shared.notion_settings import NotionSettings
from shared.ratelimit import RateLimiter
from shared.settings import Settings

logger = logging.getLogger(__name__)

#: The client keeps no burst of its own: Notion's burst allowance then absorbs the
#: jitter between the moment a slot is taken and the moment Notion counts the request.
CLIENT_BURST = 1.0


def build_publisher(settings: Settings) -> Publisher:
    """Return the publisher that ``PUBLISHER`` (and the Notion credentials) select."""
    choice = settings.publisher
    if choice == "auto":
        choice = "notion" if _has_notion_credentials(settings) else "markdown"
    if choice == "notion":
        return notion_publisher(settings.notion)
    return MarkdownPublisher(settings.export_dir)


def notion_publisher(notion: NotionSettings) -> NotionPublisher:
    """Return a Notion publisher sharing its token's rate limit with every process."""
    # One bucket per token (Notion limits each integration, whichever database it uses)
    # and, inside the client, one per workspace (shared by every integration of it).
    token_id = hashlib.sha256(notion.token.encode()).hexdigest()[:16]
    client = redis.Redis.from_url(notion.redis_url, socket_connect_timeout=5, socket_timeout=10)
    limiter = RateLimiter(client, f"notion:{token_id}", notion.rate_limit, CLIENT_BURST)
    api = NotionAPI(
        notion.token,
        notion.base_url,
        limiter,
        notion.request_timeout,
        cache=SharedCache(client),
        workspace_rate=notion.workspace_rate_limit,
    )
    return NotionPublisher(
        api,
        notion.database_id,
        notion.properties,
        data_source_id=notion.data_source_id,
        stage_timeout=notion.stage_timeout,
        create_settle=notion.create_settle,
    )


def document_for(link: Link, content: Content, enrichment: Enrichment) -> PublishDocument:
    """Return the document to publish for a link from what the stages stored."""
    return PublishDocument(
        link_id=link.id,
        url=link.url,
        title=content.title,
        text=content.text,
        summary=enrichment.summary,
        category=enrichment.category,
        # The user's own tags (an import) first, then the enrichment's, once each.
        tags=[tag["name"] for tag in merged_tags(link.user_tags, enrichment.tags)],
        sentiment=enrichment.sentiment,
        sentiment_score=enrichment.sentiment_score,
        authors=list(content.authors),
        published_at=content.published_at,
        language=enrichment.language or content.language,
        blocks=_blocks(link.id, content),
        page_type=content.page_type,
        saved_at=link.saved_at.date() if link.saved_at else None,
        read_status=link.read_status,
        library=front_matter(link),
    )


def validate_document(document: PublishDocument) -> None:
    """Raise :class:`MissingInput` unless the document has a title and a text."""
    missing = [
        field
        for field, value in (("title", document.title), ("text", document.text))
        if not value.strip()
    ]
    if missing:
        raise MissingInput(
            f"link {document.link_id} has no article {' or '.join(missing)} to publish; "
            "parse it again before publishing"
        )


def _blocks(link_id: int, content: Content) -> list[Block]:
    """Return the article's stored structure, or its text's paragraphs without one."""
    if not content.blocks:
        return paragraphs_from_text(content.text)
    try:
        return validate_blocks(content.blocks)
    except ValueError as ex:
        # A malformed structure must not cost the article: its text is still good.
        logger.warning("link %s: stored blocks are invalid (%s); using the text", link_id, ex)
        return paragraphs_from_text(content.text)


def _has_notion_credentials(settings: Settings) -> bool:
    """Tell whether both Notion settings are set to something non-blank."""
    token = settings.notion_token.get_secret_value() if settings.notion_token else ""
    return bool(token.strip() and (settings.notion_database_id or "").strip())
