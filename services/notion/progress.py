"""A link's publication as it progresses, stored the moment each step exists.

The publisher reports every step (a create on its way, the page id, the blocks written,
complete) and each is committed at once, outside any transaction: a worker killed right
after leaves the next attempt exactly what it needs to continue. One worker at a time
publishes a link, under a PostgreSQL advisory lock that dies with its connection.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import UTC

from services.notion.publishers.base import Publication
from shared import store
from shared.db import database, is_postgres
from shared.errors import RateLimited
from shared.models import Publication as PublicationRow
from shared.models import utcnow

logger = logging.getLogger(__name__)

#: First key of the advisory locks taken here, so they cannot collide with others.
LOCK_NAMESPACE = 0x6B626D01  # "kbm" 1
#: How soon a worker that found the link busy tries again.
BUSY_RETRY_SECONDS = 5.0


def load(link_id: int) -> Publication | None:
    """Return the link's stored publication, finished or not."""
    row = PublicationRow.get_or_none(PublicationRow.link == link_id)
    if row is None:
        return None
    return Publication(
        publisher=row.publisher,
        page_id=row.page_id,
        page_url=row.page_url,
        path=row.path,
        state=row.state,
        blocks_written=row.blocks_written,
        content_hash=row.content_hash,
        updated_at=row.updated_at.replace(tzinfo=UTC).timestamp(),
        written_properties=row.written_properties,
    )


def record(link_id: int, publication: Publication | None) -> None:
    """Store ``publication`` as the link's (``None``: the link has none)."""
    if publication is None:
        PublicationRow.delete().where(PublicationRow.link == link_id).execute()
        return
    now = utcnow()
    values = {
        "publisher": publication.publisher,
        "page_id": publication.page_id,
        "page_url": publication.page_url,
        "path": publication.path,
        "state": publication.state,
        "blocks_written": publication.blocks_written,
        "content_hash": publication.content_hash,
        "written_properties": publication.written_properties,
        "updated_at": now,
    }
    PublicationRow.insert(link=link_id, created_at=now, **values).on_conflict(
        conflict_target=[PublicationRow.link],
        update={getattr(PublicationRow, name): value for name, value in values.items()},
    ).execute()


def finish(link_id: int, publication: Publication) -> None:
    """Store a finished publication and mark the link published."""
    with database.atomic():
        record(link_id, publication)
        store.save_publication(
            link_id,
            publisher=publication.publisher,
            page_id=publication.page_id,
            page_url=publication.page_url,
            path=publication.path,
        )


@contextlib.contextmanager
def exclusive(link_id: int) -> Iterator[None]:
    """Hold the link's publishing lock, or raise :class:`RateLimited` if another has it.

    A redelivered message can run while the first delivery is still at work; both
    writing one page would duplicate its blocks. The lock is a session advisory lock:
    a killed worker's connection closes and releases it. SQLite (one process) needs none.
    """
    if not is_postgres():
        yield
        return
    taken = database.execute_sql(
        "SELECT pg_try_advisory_lock(%s, %s)", (LOCK_NAMESPACE, link_id)
    ).fetchone()[0]
    if not taken:
        raise RateLimited(
            f"link {link_id} is being published by another worker; trying again after it",
            retry_after=BUSY_RETRY_SECONDS,
        )
    try:
        yield
    finally:
        try:
            database.execute_sql("SELECT pg_advisory_unlock(%s, %s)", (LOCK_NAMESPACE, link_id))
        except Exception:
            # The lock lives as long as the connection: closing it for good (not back
            # into the pool) releases it.
            logger.exception("could not release the publishing lock of link %s", link_id)
            database.manual_close()
