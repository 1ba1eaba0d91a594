"""Housekeeping actors on the ``default`` queue.

The reconciler and cleanup (with their periodiq ticks) belong here; until they exist the
module declares the queue so that ``kbm worker default`` has something to consume.
"""

from __future__ import annotations

import logging

import dramatiq

logger = logging.getLogger(__name__)


@dramatiq.actor(queue_name="default", max_retries=0)
def ping(note: str = "") -> str:
    """Answer a ping: proves a ``default`` worker is consuming."""
    logger.info("ping %s", note)
    return "pong"
