"""The publisher interface: what goes into a publication and what comes out."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from shared.blocks import Block

#: Publication states: a page whose blocks are being written, one whose old content is
#: being erased before it is rewritten, and a finished one.
CREATING = "creating"
REPLACING = "replacing"
COMPLETE = "complete"


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
    #: The article's structure (see ``shared/blocks.py``); derived from ``text`` if empty.
    blocks: list[Block] = field(default_factory=list)
    #: What kind of page it is (``content.page_type``), None when not known.
    page_type: str | None = None
    #: When the user saved the link, and whether they read or archived it (an import).
    saved_at: datetime.date | None = None
    read_status: str | None = None
    #: The library metadata an import kept, as front-matter lines ({} when none).
    library: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Publication:
    """Where a document was published, and how far: a retry continues from here.

    ``page_id`` is empty while a page's create is on its way (or its outcome unknown);
    ``blocks_written`` counts the page's top-level blocks known to be written, and
    ``content_hash`` identifies the body they belong to.
    """

    publisher: str
    page_id: str
    page_url: str | None
    path: str | None
    state: str = COMPLETE
    blocks_written: int = 0
    content_hash: str | None = None
    #: When this state was stored (seconds since the epoch), if it was.
    updated_at: float | None = None
    #: The property values last written to the page (name → plain value), so that a
    #: value the user changed in Notion since is kept; ``None`` when not known.
    written_properties: dict[str, Any] | None = None
    #: The page's tags as read from Notion in this publish (the user's included), or
    #: ``None`` when the page was not read: the link's tags become these.
    page_tags: list[str] | None = None


#: Called with each step of a publication, to store it before the next request; ``None``
#: means the link has no publication (a create that surely made no page).
Progress = Callable[[Publication | None], None]


class Publisher(Protocol):
    """Something that turns a document into one page (or file) per link.

    Publishing is idempotent: given the ``previous`` publication of the same link, a
    publisher updates that page, or finishes it, instead of creating a second one.
    """

    name: str

    def publish(
        self,
        document: PublishDocument,
        previous: Publication | None,
        *,
        progress: Progress | None = None,
        deadline: float | None = None,
    ) -> Publication:
        """Publish ``document`` by ``deadline`` (a ``time.time()``) and return where it lives.

        ``progress`` receives every intermediate state the moment it exists, so that a
        retry after a crash continues from it.
        """
        ...
