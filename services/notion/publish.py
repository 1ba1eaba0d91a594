"""The publish stage's plain code: choose the publisher, check the document."""

from __future__ import annotations

from services.notion.publishers import PublishDocument, Publisher
from services.notion.publishers.markdown import MarkdownPublisher
from shared.errors import ConfigurationError, MissingInput
from shared.settings import Settings


def build_publisher(settings: Settings) -> Publisher:
    """Return the publisher that ``PUBLISHER`` (and the Notion credentials) select."""
    choice = settings.publisher
    if choice == "auto":
        choice = "notion" if _has_notion_credentials(settings) else "markdown"
        reason = " (PUBLISHER=auto picks it when NOTION_TOKEN and NOTION_DATABASE_ID are set)"
    else:
        reason = ""
    if choice == "notion":
        raise ConfigurationError(
            f"PUBLISHER=notion is not available yet{reason}; "
            "set PUBLISHER=markdown to write files to EXPORT_DIR"
        )
    return MarkdownPublisher(settings.export_dir)


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


def _has_notion_credentials(settings: Settings) -> bool:
    """Tell whether both Notion settings are set to something non-blank."""
    token = settings.notion_token.get_secret_value() if settings.notion_token else ""
    return bool(token.strip() and (settings.notion_database_id or "").strip())
