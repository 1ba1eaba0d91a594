"""The publisher interface: what goes into a publication and what comes out."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class PublishDocument:
    """An enriched article, as the publish stage hands it to a publisher."""

    link_id: int
    url: str
    title: str
    text: str
    summary: str
    category: str
    tags: list[str]
    sentiment: str
    sentiment_score: float
    authors: list[str]
    published_at: datetime.date | None
    language: str | None


@dataclass(frozen=True)
class Publication:
    """Where a document was published; stored so a retry rewrites the same page."""

    publisher: str
    page_id: str
    page_url: str | None
    path: str | None


class Publisher(Protocol):
    """Something that turns a document into one page (or file) per link.

    Publishing is idempotent: given the ``previous`` publication of the same link, a
    publisher updates that page instead of creating a second one.
    """

    name: str

    def publish(self, document: PublishDocument, previous: Publication | None) -> Publication:
        """Publish ``document`` and return where it now lives."""
        ...
