"""Live progress of a task in the terminal: one bar per stage, then the failures.

Fed by any function that returns the task's status document (the gateway over HTTP, or
the database directly in local mode), so ``kbm submit --watch`` and ``kbm run --local``
look the same.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

TaskSource = Callable[[], dict[str, Any]]


def notifier(console: Console) -> Callable[[str], None]:
    """Return a printer of one-line notices: above the live bars while they are drawn."""

    def notify(line: str) -> None:
        console.print(line, markup=False, highlight=False, soft_wrap=True)

    return notify


def follow(
    source: TaskSource, *, interval: float = 0.5, console: Console | None = None
) -> dict[str, Any]:
    """Show the task's per-stage progress until it has finished; return its final status.

    Each bar's total is the task's items, from start to end: a bar fills as its stage is
    done with items whatever their outcome (completed, failed there, or ended at an
    earlier stage), ``M/N`` counts the completed ones and the note says what became of
    the others.
    """
    console = console or Console()
    task = source()
    columns = (
        TextColumn("[bold]{task.description:<8}"),
        BarColumn(),
        TextColumn("{task.fields[ok]}/{task.total:.0f}"),
        TaskProgressColumn(),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        bars = {
            stage: progress.add_task(stage, total=task["total_items"], ok=0, note="")
            for stage in task["stages"]
        }
        while True:
            for stage, bar in bars.items():
                done, ok, note = stage_progress(task, stage)
                progress.update(bar, completed=done, ok=ok, note=note)
            if task["finished_at"]:
                return task
            time.sleep(interval)
            task = source()


def stage_progress(task: dict[str, Any], stage: str) -> tuple[int, int, str]:
    """Return how many items a stage is done with, how many it completed, and a note."""
    counts = (task.get("stage_counts") or {}).get(stage, {})
    ok = counts.get("completed", 0)
    failed = counts.get("failed", 0)
    cancelled = counts.get("cancelled", 0)
    earlier = counts.get("ended_before", 0)
    total = task["total_items"]
    done = total if task["finished_at"] else min(total, ok + failed + cancelled + earlier)
    running = counts.get("running", 0)
    parts = (
        (running, "running"),
        (failed, "failed"),
        (cancelled, "cancelled"),
        (earlier, "ended earlier"),
    )
    note = ", ".join(f"{count} {what}" for count, what in parts if count)
    return done, ok, note


def summary(
    task: dict[str, Any], failures: list[dict[str, Any]], console: Console | None = None
) -> None:
    """Print the task's outcome and a table of its failed items with their reasons."""
    console = console or Console()
    seconds = (task.get("duration_ms") or 0) / 1000
    console.print(
        f"Task {task['id']} {task['status']}: {task['completed_items']} completed, "
        f"{task['failed_items']} failed, {task['cancelled_items']} cancelled "
        f"of {task['total_items']} in {seconds:.1f} s"
    )
    if failures:
        table = Table("item", "stage", "attempts", "url", "error", title="Failed items")
        for item in failures:
            table.add_row(
                str(item["id"]),
                item["stage"],
                str(item["attempts"]),
                item.get("url") or "",
                item.get("error") or "",
            )
        console.print(table)
