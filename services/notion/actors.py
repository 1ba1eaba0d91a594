"""The notion service's actors: the publish stage and the knowledge base's export.

The publish stage makes one page (or file) per link and continues it on a retry.
"""

from __future__ import annotations

import logging
import time
from functools import cache, partial

import dramatiq
from dramatiq.middleware import Middleware

from services.notion import export, progress
from services.notion.publish import build_publisher, document_for, validate_document
from services.notion.publishers import Publisher
from services.notion.publishers.notion import NotionPublisher
from shared import store
from shared.errors import KbmError
from shared.pipeline import PUBLISH, stage_actor
from shared.recurring import EXPORT_ACTOR
from shared.settings import get_settings

logger = logging.getLogger(__name__)

#: Seconds kept back from the stage's time limit for the database writes around the
#: requests: the publisher stops sending before the time limit can interrupt it.
TIME_LIMIT_MARGIN = 5.0
#: The start-up check must not hold up a worker for long when Notion is unreachable.
STARTUP_CHECK_SECONDS = 15.0


@cache
def publisher() -> Publisher:
    """Return the process's publisher, built once from settings."""
    return build_publisher(get_settings())


class NotionStartupCheck(Middleware):
    """Check the Notion database's properties when a worker process starts."""

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        """Resolve the data source and check its schema; log what is wrong, if anything."""
        try:
            chosen = publisher()
            if isinstance(chosen, NotionPublisher):
                source = chosen.data_source(deadline=time.time() + STARTUP_CHECK_SECONDS)
                logger.info(
                    "notion: publishing into database %s, data source %s",
                    source.database_id,
                    source.id,
                )
        except KbmError as ex:
            # Publishing fails with this same message until it is fixed; the worker
            # keeps running so that it picks the fix up without a restart.
            logger.error("notion: %s", ex)


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


dramatiq.get_broker().add_middleware(NotionStartupCheck())
