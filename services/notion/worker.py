"""The notion service's worker processes: the broker with the service's own middleware.

``kbm worker notion`` runs ``dramatiq services.notion.worker:setup services.notion.actors``:
Dramatiq calls :func:`setup` before it imports the actors. The process's publisher is
built here once (:func:`publisher`), for the start-up check and the actors alike.
"""

from __future__ import annotations

import logging
import time
from functools import cache
from typing import Any

import dramatiq
from dramatiq.middleware import Middleware

from services.notion.publish import build_publisher
from services.notion.publishers import Publisher
from services.notion.publishers.notion import NotionPublisher
from services.notion.tag_options import remember_options
from shared import broker as shared_broker
from shared.errors import KbmError
from shared.settings import Settings, get_settings

logger = logging.getLogger(__name__)

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
                added = remember_options(source.properties, chosen.names.tags)
                logger.info("notion: %d new tag options joined the tag vocabulary", added)
        except KbmError as ex:
            # Publishing fails with this same message until it is fixed; the worker
            # keeps running so that it picks the fix up without a restart.
            logger.error("notion: %s", ex)


def setup(settings: Settings | None = None, **kwargs: Any) -> dramatiq.Broker:
    """Install the project's broker with the notion service's start-up check.

    The arguments are :func:`shared.broker.setup`'s.
    """
    return shared_broker.setup(settings, middleware=[NotionStartupCheck()], **kwargs)
