"""Plain-text rendering of tasks, items and tables for the terminal."""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Sequence
from typing import Any

import click

from services.cli.times import local


def emit_json(data: Any) -> None:
    """Print data as indented JSON (the ``--json`` output for scripts)."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def counted(count: int, noun: str) -> str:
    """Return ``count`` with ``noun``, plural but for one ("1 item", "3 items")."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def created_text(created: dict[str, Any], sent: int) -> str:
    """Return the line that says a task was created from ``sent`` URLs, and how."""
    task_id, total = created["task_id"], created["total_items"]
    if created["status"] == "pending":
        line = (
            f"task {task_id} scheduled for {local(created.get('run_at'))} with "
            f"{counted(total, 'item')} (kbm cancel {task_id} to drop it)"
        )
    else:
        line = f"task {task_id} queued with {counted(total, 'item')}"
    if sent > total:
        # Links are one per normalised URL: tracking parameters and fragments aside.
        line += (
            f"; {sent - total} of the {sent} URLs given are a link given before "
            "(the same once normalised)"
        )
    return line


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Return rows as an aligned text table."""
    cells = [[str(header) for header in headers]] + [
        ["" if value is None else str(value) for value in row] for row in rows
    ]
    widths = [max(len(row[column]) for row in cells) for column in range(len(headers))]
    lines = [
        "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True))
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def task_text(task: dict[str, Any]) -> str:
    """Return a task's status as a short report."""
    priority = task.get("priority", "normal")
    if task.get("feed_priority", priority) != priority:
        priority += f", fed as {task['feed_priority']}"
    lines = [
        f"Task {task['id']} ({task['type']}): {task['status']}, {task['progress']}%, "
        f"priority {priority}",
        f"  items: {task['total_items']} total, {task['completed_items']} completed, "
        f"{task['failed_items']} failed, {task['cancelled_items']} cancelled",
        f"  feeding: {task.get('waiting_items', 0)} waiting to be fed, "
        f"{task.get('queued_items', 0)} queued, {task.get('running_items', 0)} running",
        f"  created {local(task['created_at'])}, started {local(task['started_at'])}, "
        f"finished {local(task['finished_at'])}",
    ]
    if task.get("run_at") and task["status"] == "pending":
        lines.insert(1, f"  scheduled for {local(task['run_at'])} ({task['run_at']})")
    stages = task.get("stage_counts") or {}
    if stages:
        rows = [
            [
                name,
                counts.get("pending", 0),
                counts.get("queued", 0),
                counts.get("running", 0),
                counts.get("completed", 0),
                counts.get("failed", 0),
                counts.get("attempts", 0),
                counts.get("mean_ms"),
            ]
            for name, counts in stages.items()
        ]
        headers = [
            "stage",
            "waiting",
            "queued",
            "running",
            "completed",
            "failed",
            "attempts",
            "mean ms",
        ]
        lines.append(table(headers, rows))
    return "\n".join(lines)


def items_text(items: list[dict[str, Any]], width: int | None = None) -> str:
    """Return items as a table, each error whole on the lines below its item's row.

    An error is never cut: the cause of a fetch failure comes after the URL it names,
    so a cut column would hide what went wrong. Its lines wrap at ``width`` (the
    terminal's, by default).
    """
    rows = [
        [
            item["id"],
            item["link_id"],
            item["stage"],
            item["status"],
            item["attempts"],
            item.get("url") or "",
        ]
        for item in items
    ]
    lines = table(["item", "link", "stage", "status", "attempts", "url"], rows).splitlines()
    width = width or shutil.get_terminal_size().columns
    out = lines[:2]
    for item, line in zip(items, lines[2:], strict=True):
        out.append(line)
        if item.get("error"):
            out += textwrap.wrap(
                f"error: {item['error']}",
                width=max(width, 40),
                initial_indent=ERROR_INDENT,
                subsequent_indent=ERROR_INDENT + "  ",
                break_on_hyphens=False,
            )
    return "\n".join(out)


#: Where an item's error starts, under its row.
ERROR_INDENT = "      "
