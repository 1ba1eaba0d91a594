"""``kbm feed add|list|show|pause|resume|remove``: feeds polled on a schedule."""

from __future__ import annotations

from typing import Any

import click

from services.cli import output, times
from services.cli.command import KbmGroup, client


@click.group(cls=KbmGroup)
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
@click.option("--stages", default=None, help="comma-separated stages, parse first (default all)")
@click.option(
    "--priority",
    type=click.Choice(["high", "normal", "low"]),
    default=None,
    help="feeding priority of its tasks (default normal)",
)
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def feed_add(
    url: str, every: str | None, stages: str | None, priority: str | None, as_json: bool
) -> None:
    """Register a feed, polled at the next tick; for a known URL, change what is given."""
    stage_list = [name.strip() for name in stages.split(",") if name.strip()] if stages else None
    _show_feed(client().add_feed(url, every=every, stages=stage_list, priority=priority), as_json)


@feed.command("list")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def feed_list(as_json: bool) -> None:
    """Show every feed: schedule, last poll, next poll (local time)."""
    feeds = client().feeds()
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
    _show_feed(client().feed(feed_id), as_json)


@feed.command("pause")
@click.argument("feed_id", type=int)
def feed_pause(feed_id: int) -> None:
    """Stop polling a feed until it is resumed."""
    _show_feed(client().set_feed_paused(feed_id, True), False)


@feed.command("resume")
@click.argument("feed_id", type=int)
def feed_resume(feed_id: int) -> None:
    """Poll a paused feed again (at the next tick), its failures forgotten."""
    _show_feed(client().set_feed_paused(feed_id, False), False)


@feed.command("remove")
@click.argument("feed_id", type=int)
def feed_remove(feed_id: int) -> None:
    """Forget a feed (the tasks it made stay)."""
    client().remove_feed(feed_id)
    click.echo(f"feed {feed_id} removed")
