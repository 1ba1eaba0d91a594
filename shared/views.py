"""Rows as the JSON documents the gateway, the CLI and scripts read."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Any

from peewee import fn

from shared.db import CompiledQuery
from shared.feed_limits import PRIORITIES
from shared.imports.library import library_view, merged_tags
from shared.models import (
    TERMINAL,
    Content,
    Enrichment,
    Link,
    Publication,
    StageRun,
    Status,
    Task,
    TaskItem,
)


def iso(value: datetime | date | None) -> str | None:
    """Return a stored UTC datetime (or a date) in ISO 8601, ``Z`` for UTC."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds") + "Z"
    return value.isoformat()


def task_summary(task: Task) -> dict[str, Any]:
    """Return a task's status and counters (what lists show)."""
    done = task.completed_items + task.failed_items + task.cancelled_items
    progress = round(100.0 * done / task.total_items, 1) if task.total_items else 100.0
    return {
        "id": task.id,
        "type": task.type,
        "status": task.status,
        "stages": task.stages,
        "priority": task.priority,
        "feed_priority": PRIORITIES[task.feed_rank],
        "total_items": task.total_items,
        "completed_items": task.completed_items,
        "failed_items": task.failed_items,
        "cancelled_items": task.cancelled_items,
        "pending_items": task.total_items - done,
        "progress": progress,
        "run_at": iso(task.run_at),
        "created_at": iso(task.created_at),
        "started_at": iso(task.started_at),
        "finished_at": iso(task.finished_at),
        "updated_at": iso(task.updated_at),
    }


#: A task's items counted by (stage, status).
_ITEM_COUNTS = CompiledQuery(
    lambda task_id: (
        TaskItem.select(TaskItem.stage, TaskItem.status, fn.COUNT(TaskItem.id))
        .where(TaskItem.task == task_id)
        .group_by(TaskItem.stage, TaskItem.status)
    )
)
#: A task's stage runs by (stage, status): count, total and timed duration, max, attempts.
_RUN_FIGURES = CompiledQuery(
    lambda task_id: (
        StageRun.select(
            StageRun.stage,
            StageRun.status,
            fn.COUNT(StageRun.id),
            fn.SUM(StageRun.duration_ms),
            fn.COUNT(StageRun.duration_ms),
            fn.MAX(StageRun.duration_ms),
            fn.SUM(StageRun.attempts),
        )
        .join(TaskItem)
        .where(TaskItem.task == task_id)
        .group_by(StageRun.stage, StageRun.status)
    )
)
#: The tokens and cost of a task's completed enrichments.
_TOKEN_USAGE = CompiledQuery(
    lambda task_id: (
        Enrichment.select(
            fn.COALESCE(fn.SUM(Enrichment.prompt_tokens), 0),
            fn.COALESCE(fn.SUM(Enrichment.completion_tokens), 0),
            fn.COALESCE(fn.SUM(Enrichment.cost_usd), 0),
        )
        .join(TaskItem, on=(TaskItem.link == Enrichment.link))
        .join(StageRun, on=(StageRun.item == TaskItem.id))
        .where(
            (TaskItem.task == task_id)
            & (StageRun.stage == "enrich")
            & (StageRun.status == "completed")
        )
    )
)


def _item_counts(task_id: int) -> dict[tuple[str, str], int]:
    """Return a task's items counted by (stage, status)."""
    return {(stage, status): count for stage, status, count in _ITEM_COUNTS.rows(task_id)}


def _stage_counts(task: Task, items: dict[tuple[str, str], int]) -> dict[str, dict[str, Any]]:
    """Return per stage: runs by status and duration figures.

    ``items`` are the task's items by (stage, status): items waiting to be fed have no
    stage run yet (or a reset one), so a stage's ``pending`` counts those items.
    """
    stages: dict[str, dict[str, Any]] = {
        name: {"pending": 0, "queued": 0, "running": 0, "completed": 0, "failed": 0}
        for name in task.stages
    }
    rows = _RUN_FIGURES.rows(task.id)
    timing: dict[str, list[Any]] = {}  # stage: [total ms, timed runs, max ms, attempts]
    for stage, status, count, total_ms, timed, max_ms, attempts in rows:
        stages.setdefault(stage, {})[status] = count
        figures = timing.setdefault(stage, [0.0, 0, None, 0])
        figures[0] += float(total_ms or 0)
        figures[1] += int(timed or 0)
        if max_ms is not None and (figures[2] is None or max_ms > figures[2]):
            figures[2] = max_ms
        figures[3] += int(attempts or 0)
    for entry in stages.values():
        entry["pending"] = 0
    for (stage, status), count in items.items():
        if status == Status.PENDING.value:
            stages.setdefault(stage, {})["pending"] = count
    for name, entry in stages.items():
        entry["ended_before"] = _ended_before(task.stages, name, items)
    for stage, (total_ms, timed, max_ms, attempts) in timing.items():
        entry = stages[stage]
        entry["attempts"] = attempts
        entry["mean_ms"] = round(total_ms / timed, 1) if timed else None
        entry["max_ms"] = max_ms
    return stages


def _ended_before(stages: list[str], stage: str, items: dict[tuple[str, str], int]) -> int:
    """Return the items that failed or were cancelled at an earlier stage than ``stage``.

    They will never run ``stage``: with its completed and failed runs, they tell how
    much of the task's items that stage is done with, whatever their outcome.
    """
    earlier = set(stages[: stages.index(stage)]) if stage in stages else set()
    ended = (Status.FAILED.value, Status.CANCELLED.value)
    return sum(count for (at, status), count in items.items() if at in earlier and status in ended)


def _token_usage(task: Task) -> dict[str, Any]:
    usage = _TOKEN_USAGE.rows(task.id)[0]
    prompt, completion, cost = usage
    return {
        "prompt_tokens": int(prompt),
        "completion_tokens": int(completion),
        "total_tokens": int(prompt) + int(completion),
        "cost_usd": round(float(cost), 6),
    }


def task_detail(task: Task) -> dict[str, Any]:
    """Return a task's full status: counters, per-stage counts, timings, token usage."""
    data = task_summary(task)
    end = task.finished_at
    data["duration_ms"] = (
        int((end - task.started_at).total_seconds() * 1000) if end and task.started_at else None
    )
    items = _item_counts(task.id)
    by_status = Counter[str]()
    for (_, status), count in items.items():
        by_status[status] += count
    data["waiting_items"] = by_status[Status.PENDING.value]
    data["queued_items"] = by_status[Status.QUEUED.value]
    data["running_items"] = by_status[Status.RUNNING.value]
    data["stage_counts"] = _stage_counts(task, items)
    data["usage"] = _token_usage(task) if "enrich" in task.stages else None
    return data


def item_view(item: TaskItem, runs: list[StageRun] | None = None) -> dict[str, Any]:
    """Return one task item with its per-stage attempts and errors.

    ``attempts`` are those of the item's current stage (1 for a stage that ran once,
    whatever ran before it); ``total_attempts`` adds up every stage's, manual retries
    included. ``runs`` are the item's stage runs when the caller has read them already.
    """
    if runs is None:
        current = StageRun.get_or_none((StageRun.item == item.id) & (StageRun.stage == item.stage))
    else:
        current = next((run for run in runs if run.stage == item.stage), None)
    data: dict[str, Any] = {
        "id": item.id,
        "task_id": item.task_id,
        "link_id": item.link_id,
        "url": item.link.url if hasattr(item, "link") and item.link else None,
        "stage": item.stage,
        "status": item.status,
        "attempts": current.attempts if current is not None else 0,
        "total_attempts": item.attempts,
        "error": item.error,
        "finished": item.status in TERMINAL,
        "started_at": iso(item.started_at),
        "finished_at": iso(item.finished_at),
    }
    if runs is not None:
        data["stages"] = {
            run.stage: {
                "status": run.status,
                "attempts": run.attempts,
                "error": run.error,
                "duration_ms": run.duration_ms,
            }
            for run in runs
        }
    return data


def link_view(link: Link, *, full: bool = True) -> dict[str, Any]:
    """Return a link with its content, enrichment and publication once produced."""
    data: dict[str, Any] = {
        "id": link.id,
        "url": link.url,
        "normalized_url": link.normalized_url,
        "status": link.status,
        "created_at": iso(link.created_at),
        "updated_at": iso(link.updated_at),
    }
    if not full:
        return data
    # What the user kept with it in the service it was imported from (or None).
    data["library"] = library_view(link)
    content = Content.get_or_none(Content.link == link.id)
    data["content"] = (
        {
            "title": content.title,
            "text": content.text,
            "authors": content.authors,
            "published_at": iso(content.published_at),
            "language": content.language,
            "top_image": content.top_image,
            "word_count": content.word_count,
            "content_hash": content.content_hash,
            "final_url": content.final_url,
            "canonical_url": content.canonical_url,
            "duplicate_of": content.duplicate_of_id,
            "blocks": content.blocks,
        }
        if content
        else None
    )
    enrichment = Enrichment.get_or_none(Enrichment.link == link.id)
    data["enrichment"] = (
        {
            "summary": enrichment.summary,
            "category": enrichment.category,
            "tags": enrichment.tags,
            "sentiment": enrichment.sentiment,
            "sentiment_score": enrichment.sentiment_score,
            "language": enrichment.language,
            "provider": enrichment.provider,
            "model": enrichment.model,
            "prompt_tokens": enrichment.prompt_tokens,
            "completion_tokens": enrichment.completion_tokens,
            "cost_usd": enrichment.cost_usd,
        }
        if enrichment
        else None
    )
    # The user's tags and the enrichment's, each marked with where it came from.
    data["tags"] = merged_tags(link.user_tags, enrichment.tags if enrichment else None)
    publication = Publication.get_or_none(Publication.link == link.id)
    data["publication"] = (
        {
            "publisher": publication.publisher,
            "page_id": publication.page_id,
            "page_url": publication.page_url,
            "path": publication.path,
        }
        if publication
        else None
    )
    return data
