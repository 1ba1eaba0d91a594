"""Reading the user's edits back from Notion: the tags they added become the link's.

A publish that reads the page (an update or a replace) hands back the page's tags
(``Publication.page_tags``); :func:`adopt_tags` makes them the link's tags.
:func:`sync_notion` (``kbm sync-notion``) does the same for published links without
publishing: one read per page.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass

from services.notion.client import NotionNotFound
from services.notion.ownership import merge
from services.notion.publishers.notion import NotionPublisher
from shared import search
from shared.db import database
from shared.errors import PermanentError
from shared.models import Enrichment
from shared.models import Publication as PublicationRow
from shared.tags import set_link_tags

logger = logging.getLogger(__name__)

#: Seconds one page's read may take, its wait for the rate limit included.
READ_SECONDS = 60.0


@dataclass(frozen=True)
class SyncReport:
    """What a sync did: pages read, links whose tags changed, pages not found."""

    read: int
    changed: list[int]
    missing: list[int]


def adopt_tags(link_id: int, tags: list[str]) -> bool:
    """Make ``tags`` the link's tags; return whether they changed."""
    enrichment = Enrichment.get_or_none(Enrichment.link == link_id)
    if enrichment is None or set(enrichment.tags) == set(tags):
        return False
    names = list(dict.fromkeys(tags))
    with database.atomic():
        Enrichment.update(tags=names).where(Enrichment.link == link_id).execute()
        # Without a key: the ai service gives the new ones theirs (shared/tags.py).
        set_link_tags(link_id, names)
    search.reindex(link_id)
    logger.info("link %s: tags read back from Notion: %s", link_id, ", ".join(names))
    return True


def sync_notion(publisher: NotionPublisher, link_ids: Iterable[int] | None = None) -> SyncReport:
    """Read the tags of every published page (or of ``link_ids``') into its link."""
    query = PublicationRow.select().where(
        (PublicationRow.publisher == "notion") & (PublicationRow.page_id != "")
    )
    if link_ids is not None:
        query = query.where(PublicationRow.link.in_(list(link_ids)))
    tags_name = publisher.names.tags
    read, changed, missing = 0, [], []
    for row in query.order_by(PublicationRow.link):
        link_id = int(row.__data__["link"])
        enrichment = Enrichment.get_or_none(Enrichment.link == link_id)
        if enrichment is None:
            continue
        try:
            page = publisher.api.page(row.page_id, deadline=time.time() + READ_SECONDS)
        except NotionNotFound:
            missing.append(link_id)
            continue
        except PermanentError as ex:
            logger.warning("link %s: cannot read its page: %s", link_id, ex)
            continue
        read += 1
        ours = {tags_name: {"multi_select": [{"name": name} for name in enrichment.tags]}}
        written = row.written_properties
        result = merge(ours, page.get("properties") or {}, written, tags=tags_name)
        if result.tags is not None and adopt_tags(link_id, result.tags):
            changed.append(link_id)
    return SyncReport(read, changed, missing)
