"""The notion service's actors: the publish stage and the knowledge base's export.

The publish stage makes one page (or file) per link and continues it on a retry.
"""

from __future__ import annotations

import logging
import time
from functools import partial

import dramatiq

from services.notion import export, progress, readback
from services.notion.publish import document_for, validate_document
from services.notion.worker import publisher
from shared import store
from shared.pipeline import PUBLISH, stage_actor
from shared.recurring import EXPORT_ACTOR
from shared.settings import get_settings

logger = logging.getLogger(__name__)

#: Seconds kept back from the stage's time limit for the database writes around the
#: requests: the publisher stops sending before the time limit can interrupt it.
TIME_LIMIT_MARGIN = 5.0


@dramatiq.actor(actor_name=EXPORT_ACTOR, queue_name="notion", max_retries=0, time_limit=3_600_000)
def export_knowledge_base(stamp: str) -> None:
    """Export every link to JSON and Markdown under ``EXPORT_DIR/exports/<stamp>``."""
    report = export.export_knowledge_base(get_settings().export_dir, stamp)
    logger.info(
        "export %s: %d links, %d Markdown files in %s",
        stamp,
        report.links,
        report.markdown_files,
        report.folder,
    )


@stage_actor(PUBLISH)
def publish_item(item_id: int) -> None:
    """Publish the enriched article of a task item's link."""
    deadline = time.time() + get_settings().notion_timeout - TIME_LIMIT_MARGIN
    link = store.link_of_item(item_id)
    document = document_for(link, store.content_of(link.id), store.enrichment_of(link.id))
    validate_document(document)
    with progress.exclusive(link.id):
        publication = publisher().publish(
            document,
            progress.load(link.id),
            progress=partial(progress.record, link.id),
            deadline=deadline,
        )
        progress.finish(link.id, publication)
        if publication.page_tags is not None:
            # Tags the user added in Notion are the link's tags too.
            readback.adopt_tags(link.id, publication.page_tags)
