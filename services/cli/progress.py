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
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

TaskSource = Callable[[], dict[str, Any]]


def follow(
    source: TaskSource, *, interval: float = 0.5, console: Console | None = None
) -> dict[str, Any]:
    """Show the task's per-stage progress until it has finished; return its final status."""
    console = console or Console()
    task = source()
    columns = (
        TextColumn("[bold]{task.description:<8}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        bars = {
            stage: progress.add_task(stage, total=task["total_items"], note="")
            for stage in task["stages"]
        }
        while True:
            for stage, bar in bars.items():
                counts = (task.get("stage_counts") or {}).get(stage, {})
                failed = counts.get("failed", 0)
                running = counts.get("running", 0)
                note = ", ".join(
                    part
                    for part in (
                        f"{running} running" if running else "",
                        f"{failed} failed" if failed else "",
                    )
                    if part
                )
                progress.update(bar, completed=counts.get("completed", 0), note=note)
            if task["finished_at"]:
                # Items that ended early (failed, cancelled) never reach the later stages.
                for bar in bars.values():
                    progress.update(bar, total=progress.tasks[bar].completed or task["total_items"])
                return task
            time.sleep(interval)
            task = source()


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
