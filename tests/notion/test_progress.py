"""A publication's progress in PostgreSQL, and the lock that lets one worker publish a link."""

from __future__ import annotations

import threading
import time

import pytest

from services.notion import progress
from services.notion.publishers.base import COMPLETE, CREATING, Publication
from shared.db import database
from shared.errors import RateLimited
from shared.models import Link
from shared.models import Publication as PublicationRow


@pytest.fixture()
def link_id(db: str) -> int:
    link = Link.create(url="https://example.com/a", normalized_url="https://example.com/a")
    return int(link.id)


def test_a_recorded_step_is_loaded_back_with_when_it_was_stored(link_id: int) -> None:
    step = Publication("notion", "page-1", "https://notion.so/p1", None, CREATING, 3, "hash")
    before = time.time()

    progress.record(link_id, step)
    loaded = progress.load(link_id)

    assert loaded is not None
    assert loaded == Publication(**{**vars(step), "updated_at": loaded.updated_at})
    assert loaded.updated_at is not None and before - 1 <= loaded.updated_at <= time.time() + 1
    assert Link.get_by_id(link_id).status == "new"


def test_a_later_step_replaces_the_earlier_one(link_id: int) -> None:
    progress.record(link_id, Publication("notion", "", None, None, CREATING, 0, "hash"))

    progress.record(link_id, Publication("notion", "page-1", None, None, CREATING, 5, "hash"))

    assert PublicationRow.select().count() == 1
    loaded = progress.load(link_id)
    assert loaded is not None and (loaded.page_id, loaded.blocks_written) == ("page-1", 5)


def test_recording_none_forgets_the_publication(link_id: int) -> None:
    progress.record(link_id, Publication("notion", "", None, None, CREATING, 0, "hash"))

    progress.record(link_id, None)

    assert progress.load(link_id) is None


def test_finishing_marks_the_link_published(link_id: int) -> None:
    done = Publication("notion", "page-1", "https://notion.so/p1", None, COMPLETE, 7, "hash")

    progress.finish(link_id, done)

    loaded = progress.load(link_id)
    assert loaded is not None and (loaded.state, loaded.blocks_written) == (COMPLETE, 7)
    assert Link.get_by_id(link_id).status == "published"


def test_a_second_worker_cannot_publish_a_link_being_published(link_id: int) -> None:
    holding, release = threading.Event(), threading.Event()

    def first_worker() -> None:
        with database.connection_context(), progress.exclusive(link_id):
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=first_worker)
    thread.start()
    try:
        assert holding.wait(10)
        with (
            pytest.raises(RateLimited, match=f"link {link_id} is being published"),
            progress.exclusive(link_id),
        ):
            pass
        with progress.exclusive(link_id + 1):
            pass  # another link is free
    finally:
        release.set()
        thread.join()

    with progress.exclusive(link_id):
        pass  # released with the first worker
