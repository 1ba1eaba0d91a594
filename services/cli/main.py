"""The ``kbm`` command: run the services, submit links, follow and steer tasks."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from services.cli import launch, output, progress, times
from services.cli.client import GatewayClient
from shared.errors import KbmError
from shared.pipeline import STAGE_NAMES
from shared.redact import install as install_redaction
from shared.settings import Settings


def _settings() -> Settings:
    return Settings.from_env()


def _client() -> GatewayClient:
    settings = _settings()
    token = settings.api_token.get_secret_value() if settings.api_token else None
    return GatewayClient(settings.api_url, token)


@click.group()
@click.version_option(package_name="notion-kb-manager")
def cli() -> None:
    """Notion KB Manager: turn links into a curated Notion knowledge base."""


@cli.command()
def migrate() -> None:
    """Create or upgrade the database schema (safe to run again)."""
    from shared.db import bind_database
    from shared.migrations import LATEST_VERSION
    from shared.migrations import migrate as run_migrations

    settings = _settings()
    bind_database(settings.database_url)
    applied = run_migrations()
    for migration in applied:
        click.echo(f"applied {migration.version}: {migration.name}")
    click.echo(
        f"database schema at version {LATEST_VERSION}" + ("" if applied else " (up to date)")
    )


@cli.command()
@click.option("--workers", type=int, default=None, help="gunicorn worker processes")
def api(workers: int | None) -> None:
    """Serve the HTTP gateway under gunicorn."""
    launch.exec_command(launch.api_command(_settings(), workers=workers))


@cli.command()
@click.argument("service", type=click.Choice(list(launch.SERVICES) + list(launch.QUEUE_TO_SERVICE)))
@click.option("--processes", "-p", type=int, default=None, help="worker processes (WORKER_COUNT_*)")
@click.option("--threads", "-t", type=int, default=None, help="threads per process")
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Prometheus port (default WORKER_METRICS_PORT, 9191)",
)
def worker(
    service: str, processes: int | None, threads: int | None, metrics_port: int | None
) -> None:
    """Run one service's Dramatiq workers on its queue."""
    command = launch.worker_command(
        service, _settings(), processes=processes, threads=threads, metrics_port=metrics_port
    )
    launch.exec_command(command)


@cli.command()
def scheduler() -> None:
    """Run the periodiq scheduler: reconciler every minute, cleanup every hour."""
    launch.exec_command(launch.scheduler_command())


@cli.command()
@click.option("--no-migrate", is_flag=True, help="do not run migrations first")
def up(no_migrate: bool) -> None:
    """Run the gateway and every service's workers here; Ctrl-C stops them all."""
    settings = _settings()
    # One metrics port per worker command on this host: WORKER_METRICS_PORT, +1, …
    workers = launch.worker_commands(settings)
    if not no_migrate:
        from shared.db import bind_database
        from shared.migrations import migrate as run_migrations

        bind_database(settings.database_url)
        run_migrations()
    commands = [launch.api_command(settings), launch.scheduler_command(), *workers]
    for command in workers:
        click.echo(f"{command.name} metrics on http://{command.metrics_address}/metrics")
    click.echo(f"gateway on http://{settings.api_host}:{settings.api_port}; Ctrl-C stops all")
    sys.exit(launch.run_together(commands))


def _read_urls(urls: tuple[str, ...], file: Path | None) -> list[str]:
    collected = list(urls)
    if file is not None:
        text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
        collected += [
            line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
        ]
    if not collected:
        raise click.UsageError("give URLs as arguments or with -f FILE (one per line)")
    return collected


@cli.command()
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
@click.option("--watch", is_flag=True, help="follow progress until the task ends")
@click.option("--interval", default=0.5, show_default=True, help="seconds between polls")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def submit(
    urls: tuple[str, ...],
    file: Path | None,
    stages: str,
    priority: str,
    at: str | None,
    watch: bool,
    interval: float,
    as_json: bool,
) -> None:
    """Submit links to run through the pipeline."""
    client = _client()
    stage_list = [name.strip() for name in stages.split(",") if name.strip()]
    run_at = times.parse_at(at) if at else None
    created = client.submit(
        urls=_read_urls(urls, file), stages=stage_list, priority=priority, run_at=run_at
    )
    task_id = created["task_id"]
    if not watch:
        if as_json:
            output.emit_json(created)
        elif created["status"] == "pending":
            click.echo(
                f"task {task_id} scheduled for {times.local(created.get('run_at'))} "
                f"with {created['total_items']} items (kbm cancel {task_id} to drop it)"
            )
        else:
            click.echo(f"task {task_id} queued with {created['total_items']} items")
        return
    if as_json:
        task = _poll_until_finished(lambda: client.task(task_id), interval)
    else:
        task = progress.follow(lambda: client.task(task_id), interval=interval)
    failures = client.items(task_id, status="failed") if task["failed_items"] else []
    if as_json:
        output.emit_json({"task": task, "failures": failures})
    else:
        progress.summary(task, failures)
    sys.exit(0 if task["status"] == "completed" else 1)


def _poll_until_finished(source: Callable[[], dict[str, Any]], interval: float) -> dict[str, Any]:
    while True:
        task = source()
        if task["finished_at"]:
            return task
        time.sleep(interval)


@cli.command()
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
    with LocalRun(_settings(), threads=threads) as pipeline:
        task_id = pipeline.submit(_read_urls(urls, file), stage_list)
        source = lambda: pipeline.status(task_id)  # noqa: E731
        task = (
            _poll_until_finished(source, 0.2) if as_json else progress.follow(source, interval=0.2)
        )
        failures = pipeline.failures(task_id)
    if as_json:
        output.emit_json({"task": task, "failures": failures})
    else:
        progress.summary(task, failures)
        export = pipeline.settings.export_dir.resolve()
        click.echo(f"Database: {pipeline.settings.database_url}   Markdown files: {export}")
    sys.exit(0 if task["status"] == "completed" else 1)


@cli.command()
@click.argument("task_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def status(task_id: int, as_json: bool) -> None:
    """Show a task's status, counters and per-stage progress."""
    task = _client().task(task_id)
    output.emit_json(task) if as_json else click.echo(output.task_text(task))


@cli.command()
@click.argument("task_id", type=int)
@click.option("--status", "status_filter", default=None, help="only items with this status")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def items(task_id: int, status_filter: str | None, as_json: bool) -> None:
    """List a task's items with their stage, status, attempts and error."""
    rows = _client().items(task_id, status=status_filter)
    output.emit_json(rows) if as_json else click.echo(output.items_text(rows))


@cli.command()
@click.argument("task_id", type=int)
def retry(task_id: int) -> None:
    """Re-run a task's failed items from the stage each failed in."""
    result = _client().retry(task_id)
    click.echo(f"task {task_id}: {result['retried_items']} failed items queued again")


@cli.command()
@click.argument("task_id", type=int)
def cancel(task_id: int) -> None:
    """Cancel a task: waiting items never run, running ones stop after their step."""
    task = _client().cancel(task_id)
    click.echo(
        f"task {task_id} {task['status']}: {task.get('cancelled_now', 0)} items cancelled now, "
        f"{task['pending_items']} still finishing their current step"
    )


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def queues(as_json: bool) -> None:
    """Show each queue's waiting, delayed, unacked and dead-lettered messages."""
    data = _client().queues()
    if as_json:
        output.emit_json(data)
        return
    queues_data = data.get("queues", data)
    rows = [
        [name, *(stats.get(key) for key in ("waiting", "delayed", "unacked", "dead"))]
        for name, stats in queues_data.items()
    ]
    click.echo(output.table(["queue", "waiting", "delayed", "unacked", "dead"], rows))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def workers(as_json: bool) -> None:
    """Show the workers that sent a heartbeat recently."""
    data = _client().workers()
    if as_json:
        output.emit_json(data)
        return
    rows = [
        [
            worker["id"],
            worker["kind"],
            ",".join(worker["consumes"]) or ("gateway" if worker["gateway"] else "-"),
            f"{worker['host'] or '-'}:{worker['pid'] or '-'}",
            worker["last_heartbeat_age_s"],
        ]
        for worker in data.get("workers", [])
    ]
    headers = ["id", "kind", "queues", "host:pid", "last heartbeat (s ago)"]
    click.echo(output.table(headers, rows))
    click.echo(f"{data['alive']} worker processes alive")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def doctor(as_json: bool) -> None:
    """Check Redis, queues, workers, database, AI provider, publisher and fetch guard."""
    from services.cli.doctor import Doctor

    checks = Doctor(_settings()).run()
    if as_json:
        output.emit_json([check.__dict__ for check in checks])
    else:
        for check in checks:
            mark = click.style("ok  ", fg="green") if check.ok else click.style("FAIL", fg="red")
            click.echo(f"{mark} {check.name}: {check.detail}")
            if not check.ok and check.fix:
                click.echo(f"     fix: {check.fix}")
        failed = sum(not check.ok for check in checks)
        click.echo(f"\n{len(checks) - failed} of {len(checks)} checks passed")
    sys.exit(1 if any(not check.ok for check in checks) else 0)


@cli.command("dead-letters")
@click.option("--queue", default=None, help="only this queue")
@click.option("--requeue", "requeue_ids", multiple=True, help="send this dead letter again")
@click.option("--requeue-all", is_flag=True, help="send every dead letter again")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def dead_letters(
    queue: str | None, requeue_ids: tuple[str, ...], requeue_all: bool, as_json: bool
) -> None:
    """List messages Dramatiq gave up on, with their error; requeue them."""
    client = _client()
    if requeue_ids or requeue_all:
        result = client.requeue(None if requeue_all else list(requeue_ids))
        click.echo(f"{result['requeued']} requeued, {result['skipped']} skipped")
        return
    letters = client.dead_letters(queue=queue)
    if as_json:
        output.emit_json(letters)
        return
    rows = [
        [
            letter["id"],
            letter["queue"],
            letter["actor"],
            letter.get("item_id"),
            letter["dead_at"],
            (letter.get("error") or "")[:70],
        ]
        for letter in letters
    ]
    click.echo(output.table(["id", "queue", "actor", "item", "dead at", "error"], rows))


@cli.group()
def feed() -> None:
    """Import RSS and Atom feeds on a schedule: each poll's new entries become one task."""


def _feed_rows(feeds: list[dict[str, Any]]) -> list[list[Any]]:
    return [
        [
            item["id"],
            item["status"],
            _every(item["every_seconds"]),
            item["entries_seen"],
            times.local(item["last_polled_at"]),
            item["last_outcome"] or "-",
            times.local(item["next_poll_at"]),
            item["url"],
        ]
        for item in feeds
    ]


def _every(seconds: int) -> str:
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _show_feed(item: dict[str, Any], as_json: bool) -> None:
    if as_json:
        output.emit_json(item)
        return
    click.echo(
        f"feed {item['id']} ({item['status']}): {item['url']}\n"
        f"  every {_every(item['every_seconds'])}, stages {','.join(item['stages'])}, "
        f"priority {item['priority']}\n"
        f"  last poll {times.local(item['last_polled_at'])}: {item['last_outcome'] or '-'}; "
        f"next {times.local(item['next_poll_at'])}; {item['entries_seen']} entries imported"
        + (f"; last task {item['last_task_id']}" if item["last_task_id"] else "")
    )
    if item["error"]:
        click.echo(f"  error: {item['error']}")
        if item["status"] == "paused":
            click.echo(f"  fix the feed, then: kbm feed resume {item['id']}")


@feed.command("add")
@click.argument("url")
@click.option("--every", default=None, help="how often to poll: 30m, 1h (default), 1d")
@click.option("--stages", default=None, help="comma-separated stages (default all)")
@click.option(
    "--priority", type=click.Choice(["high", "normal", "low"]), default="normal", show_default=True
)
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def feed_add(url: str, every: str | None, stages: str | None, priority: str, as_json: bool) -> None:
    """Register a feed (or change the one with this URL); it is polled at the next tick."""
    stage_list = [name.strip() for name in stages.split(",") if name.strip()] if stages else None
    _show_feed(_client().add_feed(url, every=every, stages=stage_list, priority=priority), as_json)


@feed.command("list")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def feed_list(as_json: bool) -> None:
    """Show every feed: schedule, last poll, next poll (local time)."""
    feeds = _client().feeds()
    if as_json:
        output.emit_json(feeds)
        return
    headers = ["id", "status", "every", "entries", "last poll", "outcome", "next poll", "url"]
    click.echo(output.table(headers, _feed_rows(feeds)))
    for item in feeds:
        if item["error"]:
            click.echo(f"feed {item['id']}: {item['error']}")


@feed.command("show")
@click.argument("feed_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def feed_show(feed_id: int, as_json: bool) -> None:
    """Show one feed, with its error if it failed."""
    _show_feed(_client().feed(feed_id), as_json)


@feed.command("pause")
@click.argument("feed_id", type=int)
def feed_pause(feed_id: int) -> None:
    """Stop polling a feed until it is resumed."""
    _show_feed(_client().set_feed_paused(feed_id, True), False)


@feed.command("resume")
@click.argument("feed_id", type=int)
def feed_resume(feed_id: int) -> None:
    """Poll a paused feed again (at the next tick), its failures forgotten."""
    _show_feed(_client().set_feed_paused(feed_id, False), False)


@feed.command("remove")
@click.argument("feed_id", type=int)
def feed_remove(feed_id: int) -> None:
    """Forget a feed (the tasks it made stay)."""
    _client().remove_feed(feed_id)
    click.echo(f"feed {feed_id} removed")


def main() -> None:
    """Run the command line, turning the project's errors into one clear line."""
    install_redaction()
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as ex:
        ex.show()
        sys.exit(ex.exit_code)
    except KbmError as ex:
        click.echo(f"error: {ex}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
