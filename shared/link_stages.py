"""Each stage's latest outcome for one link, over every task that ran it."""

from __future__ import annotations

from typing import Any

from shared.models import StageRun, TaskItem
from shared.pipeline import STAGE_NAMES
from shared.views import iso


def stage_outcomes(link_id: int) -> dict[str, dict[str, Any]]:
    """Return, per stage in pipeline order, the link's latest run of it.

    A run is ``{"status", "attempts", "error", "finished_at", "task_id"}``; a stage no
    task ran for the link is absent.
    """
    runs = (
        StageRun.select(StageRun, TaskItem.task)
        .join(TaskItem)
        .where(TaskItem.link == link_id)
        .order_by(StageRun.id)
    )
    latest: dict[str, dict[str, Any]] = {}
    for run in runs:
        latest[run.stage] = {
            "status": run.status,
            "attempts": run.attempts,
            "error": run.error,
            "finished_at": iso(run.finished_at),
            "task_id": run.item.task_id,
        }
    order = {name: index for index, name in enumerate(STAGE_NAMES)}
    return dict(sorted(latest.items(), key=lambda entry: order.get(entry[0], len(order))))
