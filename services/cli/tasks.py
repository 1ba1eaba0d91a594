"""``kbm submit``, ``run``, ``status``, ``items``, ``retry`` and ``cancel``: tasks."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from services.cli import imports, output, progress, times
from services.cli.command import KbmCommand, client, poll_until_finished, read_urls, settings
from shared.pipeline import STAGE_NAMES


@click.command(cls=KbmCommand)
@click.argument("urls", nargs=-1)
@click.option(
    "-f", "--file", "file", type=click.Path(path_type=Path), help="file of URLs, - = stdin"
)
@click.option(
    "--stages",
    default=",".join(STAGE_NAMES),
    show_default=True,
    help="comma-separated stages to run",
)
@click.option(
    "--priority",
    type=click.Choice(["high", "normal", "low"]),
    default="normal",
    show_default=True,
    help="feeding order: high before normal before low; equal ones take turns",
)
@click.option(
    "--at",
    "at",
    default=None,
    help="start later: 2026-12-24T08:00 (local time unless a zone is given), 08:30 or +10m",
)
@click.option(
    "--now",
    "start_now",
    is_flag=True,
    help="start at once even though --at has passed (refused without it)",
)
@click.option("--watch", is_flag=True, help="follow progress until the task ends")
@click.option("--interval", default=0.5, show_default=True, help="seconds between polls")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def submit(
    urls: tuple[str, ...],
    file: Path | None,
    stages: str,
    priority: str,
    at: str | None,
    start_now: bool,
    watch: bool,
    interval: float,
    as_json: bool,
) -> None:
    """Submit links to run through the pipeline."""
    gateway = client()
    stage_list = [name.strip() for name in stages.split(",") if name.strip()]
    run_at = times.parse_at(at) if at else None
    if run_at is not None:
        if start_now:
            run_at = None
        else:
            times.refuse_past(run_at, at or "")
    url_list = read_urls(urls, file)
    if len(url_list) > settings().api_max_urls and run_at is None:
        # More than one request may carry: one import task instead of a refusal.
        found = imports.submit_through_import(
            gateway, url_list, stages=stage_list, priority=priority, as_json=as_json
        )
        if found is None:
            return
        created = found
    else:
        created = gateway.submit(urls=url_list, stages=stage_list, priority=priority, run_at=run_at)
    task_id = created["task_id"]
    if not watch:
        if as_json:
            output.emit_json(created)
        else:
            click.echo(output.created_text(created, len(url_list)))
        return
    if not as_json:
        # Said before the bars: Ctrl-C stops watching, the task goes on under this id.
        click.echo(output.created_text(created, len(url_list)))
    if as_json:
        task = poll_until_finished(lambda: gateway.task(task_id), interval)
    else:
        task = progress.follow(lambda: gateway.task(task_id), interval=interval)
    failures = gateway.items(task_id, status="failed") if task["failed_items"] else []
    if as_json:
        output.emit_json({"task": task, "failures": failures})
    else:
        progress.summary(task, failures)
    sys.exit(0 if task["status"] == "completed" else 1)


@click.command(cls=KbmCommand)
@click.argument("urls", nargs=-1)
@click.option(
    "-f", "--file", "file", type=click.Path(path_type=Path), help="file of URLs, - = stdin"
)
@click.option("--local", is_flag=True, help="run here, in one process (SQLite, no Redis)")
@click.option(
    "--stages", default=",".join(STAGE_NAMES), show_default=True, help="comma-separated stages"
)
@click.option("--threads", default=8, show_default=True, help="worker threads")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def run(
    urls: tuple[str, ...],
    file: Path | None,
    local: bool,
    stages: str,
    threads: int,
    as_json: bool,
) -> None:
    """Run links through the pipeline in this process (--local), with live progress."""
    if not local:
        raise click.UsageError(
            "kbm run needs --local (one process, SQLite, no Redis); "
            "to use running services, `kbm submit URL… --watch`"
        )
    from services.cli.local import LocalRun

    stage_list = [name.strip() for name in stages.split(",") if name.strip()]
    url_list = read_urls(urls, file)
    # Notices of failed attempts print above the bars (or on stderr beside the JSON).
    console = Console()
    notify = progress.notifier(Console(stderr=True) if as_json else console)
    with LocalRun(settings(), threads=threads, notify=notify) as pipeline:
        task_id = pipeline.submit(url_list, stage_list)
        source = lambda: pipeline.status(task_id)  # noqa: E731
        task = (
            poll_until_finished(source, 0.2)
            if as_json
            else progress.follow(source, interval=0.2, console=console)
        )
        failures = pipeline.failures(task_id)
    if as_json:
        output.emit_json({"task": task, "failures": failures})
    else:
        progress.summary(task, failures, console)
        export = pipeline.settings.export_dir.resolve()
        click.echo(f"Database: {pipeline.settings.database_url}   Markdown files: {export}")
    sys.exit(0 if task["status"] == "completed" else 1)


@click.command(cls=KbmCommand)
@click.argument("task_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def status(task_id: int, as_json: bool) -> None:
    """Show a task's status, counters and per-stage progress."""
    task = client().task(task_id)
    output.emit_json(task) if as_json else click.echo(output.task_text(task))


@click.command(cls=KbmCommand)
@click.argument("task_id", type=int)
@click.option("--status", "status_filter", default=None, help="only items with this status")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def items(task_id: int, status_filter: str | None, as_json: bool) -> None:
    """List a task's items with their stage, status, attempts and error."""
    rows = client().items(task_id, status=status_filter)
    output.emit_json(rows) if as_json else click.echo(output.items_text(rows))


@click.command(cls=KbmCommand)
@click.argument("task_id", type=int)
def retry(task_id: int) -> None:
    """Re-run a task's failed items from the stage each failed in."""
    result = client().retry(task_id)
    click.echo(f"task {task_id}: {result['retried_items']} failed items queued again")


@click.command(cls=KbmCommand)
@click.argument("task_id", type=int)
def cancel(task_id: int) -> None:
    """Cancel a task: waiting items never run, running ones stop after their step."""
    task = client().cancel(task_id)
    click.echo(
        f"task {task_id} {task['status']}: "
        f"{output.counted(task.get('cancelled_now', 0), 'item')} cancelled now, "
        f"{task['pending_items']} still finishing their current step"
    )


#: The commands of this module, as ``kbm`` adds them.
COMMANDS = (submit, run, status, items, retry, cancel)
