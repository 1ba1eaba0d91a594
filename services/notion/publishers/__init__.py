"""Publishers: one module per backend behind the small :class:`Publisher` interface."""

from services.notion.publishers.base import Publication, PublishDocument, Publisher

__all__ = ["Publication", "PublishDocument", "Publisher"]
