"""Where a task came from: a request, a time set for later, a feed, a recurring job.

A task records what made it (``Task.source``: request, feed, recurring, import, local);
a request for later also has its ``run_at``, and a feed's poll names its task in the
feed entries it imported.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.db import rows_where_in
from shared.models import FeedEntry, Task


def label_sources(tasks: Sequence[dict[str, Any]]) -> None:
    """Add ``source`` to each task view: ``{"kind": …}``, a feed's task with its ``feed_id``.

    ``kind`` is ``scheduled`` for a request set for later, else ``Task.source``. Two
    queries for the whole page.
    """
    ids = [int(task["id"]) for task in tasks]
    if not ids:
        return
    feeds = {
        row.task_id: row.feed_id
        for row in rows_where_in(
            FeedEntry.select(FeedEntry.task, FeedEntry.feed).distinct(), FeedEntry.task, ids
        )
    }
    sources = {
        row.id: row.source for row in rows_where_in(Task.select(Task.id, Task.source), Task.id, ids)
    }
    for task in tasks:
        task_id = int(task["id"])
        kind = sources.get(task_id, "request")
        if task_id in feeds:
            task["source"] = {"kind": "feed", "feed_id": feeds[task_id]}
        elif kind == "request" and task.get("run_at"):
            task["source"] = {"kind": "scheduled"}
        else:
            task["source"] = {"kind": kind}
